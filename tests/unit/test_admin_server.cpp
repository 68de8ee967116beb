#include "ReplicationApiFixture.hpp"

#include <boost/test/unit_test.hpp>
#include <httplib.h>

#include <string>

using dovewarden::test::ReplicationApiFixture;

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

BOOST_AUTO_TEST_SUITE_END()
