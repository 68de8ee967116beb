#include "ReplicationApiFixture.hpp"

#include <boost/test/unit_test.hpp>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include <string>

using dovewarden::test::ReplicationApiFixture;
namespace admin = dovewarden::admin;

BOOST_AUTO_TEST_SUITE(admin_server)

BOOST_FIXTURE_TEST_CASE(requests_without_the_token_are_refused,
                        ReplicationApiFixture) {
  auto client = this->client();
  for (const auto &headers :
       {httplib::Headers{}, httplib::Headers{{"Authorization", "Bearer wrong"}},
        httplib::Headers{{"Authorization", std::string("Basic ") + k_token}},
        httplib::Headers{{"Authorization", "Bearer "}}}) {
    const auto result = client.Get("/v1/replication/status", headers);
    BOOST_REQUIRE(result);
    BOOST_TEST(result->status == 401);
    BOOST_TEST(result->get_header_value("WWW-Authenticate") == "Bearer");
  }
  // unknown paths and mutations too, and the store is not touched
  store.add("alice");
  auto result = client.Delete("/v1/replication/users/alice");
  BOOST_REQUIRE(result);
  BOOST_TEST(result->status == 401);
  BOOST_TEST(store.find("alice").has_value());
  result = client.Get("/v1/nothing");
  BOOST_REQUIRE(result);
  BOOST_TEST(result->status == 401);
}

// RFC 7235: the scheme is case-insensitive
BOOST_FIXTURE_TEST_CASE(the_bearer_scheme_is_taken_in_any_case,
                        ReplicationApiFixture) {
  auto client = this->client();
  for (const char *scheme : {"Bearer ", "bearer ", "BEARER "}) {
    BOOST_TEST_CONTEXT(scheme) {
      const auto result = client.Get(
          "/v1/replication/status",
          httplib::Headers{{"Authorization", std::string(scheme) + k_token}});
      BOOST_REQUIRE(result);
      BOOST_TEST(result->status == 200);
    }
  }
}

BOOST_FIXTURE_TEST_CASE(a_body_over_64_kib_is_413, ReplicationApiFixture) {
  const std::string mask(admin::AdminServer::k_max_body, 'a');
  const auto result = replicate(nlohmann::json{{"mask", mask}});
  BOOST_REQUIRE(result);
  BOOST_TEST(result->status == 413);
  BOOST_TEST(nlohmann::json::parse(result->body).at("error") ==
             "request body larger than 65536 bytes");
  BOOST_TEST(store.size() == 0U);
  // the listener serves on
  const auto status = client().Get("/v1/replication/status", auth);
  BOOST_REQUIRE(status);
  BOOST_TEST(status->status == 200);
}

BOOST_AUTO_TEST_SUITE_END()
