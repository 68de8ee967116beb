#include "ReplicationApiFixture.hpp"
#include "cli/AdminClient.hpp"
#include "cli/Settings.hpp"

#include <boost/test/unit_test.hpp>
#include <nlohmann/json.hpp>

#include <string>

using namespace dovewarden;
using nlohmann::json;
using test::ReplicationApiFixture;

BOOST_AUTO_TEST_SUITE(cli_admin_client)

BOOST_AUTO_TEST_CASE(escape_for_paths_and_queries) {
  BOOST_TEST(cli::AdminClient::escape("a.b-c_d~9") == "a.b-c_d~9");
  BOOST_TEST(cli::AdminClient::escape("a b@x/y*%+") ==
             "a%20b%40x%2Fy%2A%25%2B");
}

BOOST_FIXTURE_TEST_CASE(client_maps_answers_to_exit_codes,
                        ReplicationApiFixture) {
  store.add("a b@x/y");
  cli::Settings settings{"127.0.0.1", port, k_token};
  cli::AdminClient client(settings);
  auto answer = client.get("/v1/replication/users?mask=" +
                           cli::AdminClient::escape("a b@x/*"));
  BOOST_REQUIRE(answer);
  BOOST_REQUIRE(answer->size() == 1u);
  BOOST_TEST((*answer)[0].at("user") == "a b@x/y");
  answer = client.remove("/v1/replication/users/" +
                         cli::AdminClient::escape("a b@x/y"));
  BOOST_REQUIRE(answer);
  BOOST_TEST(answer->is_null());
  BOOST_TEST(!store.find("a b@x/y"));

  answer = client.remove("/v1/replication/users/nobody");
  BOOST_REQUIRE(!answer);
  BOOST_TEST(answer.error().exit_code == cli::k_exit_no_user);
  answer = client.post("/v1/replication/replicate", json{{"mask", ""}});
  BOOST_REQUIRE(!answer);
  BOOST_TEST(answer.error().exit_code == cli::k_exit_usage);
  store.failing = true;
  answer = client.get("/v1/replication/status");
  BOOST_REQUIRE(!answer);
  BOOST_TEST(answer.error().exit_code == cli::k_exit_unavailable);
  store.failing = false;

  cli::AdminClient wrong({"127.0.0.1", port, "wrong"});
  answer = wrong.get("/v1/replication/status");
  BOOST_REQUIRE(!answer);
  BOOST_TEST(answer.error().exit_code == cli::k_exit_no_permission);

  server->stop();
  answer = client.get("/v1/replication/status");
  BOOST_REQUIRE(!answer);
  BOOST_TEST(answer.error().exit_code == cli::k_exit_unavailable);
}

BOOST_AUTO_TEST_SUITE_END()
