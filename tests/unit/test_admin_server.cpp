#include "FreePort.hpp"
#include "ReplicationApiFixture.hpp"
#include "admin/EventsApi.hpp"
#include "metrics/Metrics.hpp"

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

// It holds no data: it asks for the token and reads the API with it.
BOOST_FIXTURE_TEST_CASE(the_status_page_is_served_without_the_token,
                        ReplicationApiFixture) {
  auto client = this->client();
  const auto page = client.Get("/status");
  BOOST_REQUIRE(page);
  BOOST_TEST(page->status == 200);
  BOOST_TEST(page->get_header_value("Content-Type") ==
             "text/html; charset=utf-8");
  BOOST_TEST(page->body.rfind("<!DOCTYPE html>", 0) == 0U);
  BOOST_TEST(page->body.find("/v1/replication/status") != std::string::npos);
  // nothing it could load from elsewhere, and a policy that forbids it
  for (const char *reference : {"src=", "href=", "@import", "url("})
    BOOST_TEST(page->body.find(reference) == std::string::npos, reference);
  const auto policy = page->get_header_value("Content-Security-Policy");
  BOOST_TEST(policy.find("default-src 'none'") != std::string::npos);
  BOOST_TEST(policy.find("connect-src 'self'") != std::string::npos);
  BOOST_TEST(page->get_header_value("Cache-Control") == "no-store");
  // the page alone: other methods and paths still need the token
  const auto posted = client.Post("/status", "", "text/plain");
  BOOST_REQUIRE(posted);
  BOOST_TEST(posted->status == 401);
  const auto below = client.Get("/status/x");
  BOOST_REQUIRE(below);
  BOOST_TEST(below->status == 401);
}

BOOST_AUTO_TEST_CASE(lost_events_are_answered_by_service) {
  dovewarden::metrics::Metrics metrics;
  metrics.events_lost("imap", 3);
  metrics.events_lost("imap", 2);
  metrics.events_lost("lmtp", 1);
  admin::EventsApi api(metrics);
  std::unique_ptr<admin::AdminServer> server;
  std::uint16_t port = 0;
  for (int attempt = 0; attempt < 5 && !server; attempt++) {
    port = dovewarden::test::free_port();
    server = std::make_unique<admin::AdminServer>(
        dovewarden::util::ListenAddress{"127.0.0.1", port},
        admin::AdminToken(ReplicationApiFixture::k_token));
    server->add(api);
    if (!server->start())
      server.reset();
  }
  BOOST_REQUIRE(server);
  httplib::Client client("127.0.0.1", port);
  BOOST_TEST(client.Get("/v1/events/lost")->status == 401);
  const auto result = client.Get(
      "/v1/events/lost",
      httplib::Headers{{"Authorization", std::string("Bearer ") +
                                             ReplicationApiFixture::k_token}});
  BOOST_REQUIRE(result);
  BOOST_TEST(result->status == 200);
  // the usual services from the start, at 0
  BOOST_TEST(nlohmann::json::parse(result->body) ==
             (nlohmann::json{{"lost",
                              {{"doveadm", 0},
                               {"imap", 5},
                               {"lda", 0},
                               {"lmtp", 1},
                               {"pop3", 0}}}}));
  server->stop();
}

BOOST_AUTO_TEST_SUITE_END()
