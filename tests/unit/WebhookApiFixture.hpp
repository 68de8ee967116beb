#pragma once

#include "FreePort.hpp"
#include "SwitchedWebhookStore.hpp"
#include "TestUtil.hpp"
#include "admin/AdminServer.hpp"
#include "admin/AdminToken.hpp"
#include "admin/WebhookApi.hpp"
#include "webhook/AddressPolicy.hpp"
#include "webhook/SqliteWebhookStore.hpp"

#include <boost/test/unit_test.hpp>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>

namespace dovewarden::test {

// An AdminServer with a WebhookApi over SQLite stores in a temporary
// directory, on a loopback port.
struct WebhookApiFixture {
  static constexpr const char *k_token = "webhook-admin-token";

  TempDir dir;
  std::unique_ptr<webhook::SqliteWebhookStore> sqlite;
  std::unique_ptr<SwitchedWebhookStore> store;
  webhook::AddressPolicy policy;
  std::atomic<int> changes = 0;
  std::unique_ptr<admin::WebhookApi> api;
  std::unique_ptr<admin::AdminServer> server;
  std::uint16_t port = 0;
  httplib::Headers auth{{"Authorization", std::string("Bearer ") + k_token}};

  explicit WebhookApiFixture(const std::string &allow_list = "") {
    auto webhooks = webhook::SqliteWebhookStore::open(dir.path());
    BOOST_REQUIRE(webhooks);
    sqlite = std::move(*webhooks);
    store = std::make_unique<SwitchedWebhookStore>(*sqlite);
    auto parsed = webhook::AddressPolicy::parse(allow_list);
    BOOST_REQUIRE(parsed);
    policy = std::move(*parsed);
    api = std::make_unique<admin::WebhookApi>(*store, policy,
                                              [this] { changes++; });
    // another process may take the port between free_port() and bind
    for (int attempt = 0; attempt < 5 && !server; attempt++) {
      port = free_port();
      server = std::make_unique<admin::AdminServer>(
          util::ListenAddress{"127.0.0.1", port}, admin::AdminToken(k_token));
      server->add(*api);
      if (!server->start())
        server.reset();
    }
    BOOST_REQUIRE(server);
  }
  ~WebhookApiFixture() { server->stop(); }

  httplib::Client client() const {
    httplib::Client client("127.0.0.1", port);
    client.set_read_timeout(10, 0);
    return client;
  }
  // Returns the answer's status and JSON body (null if empty).
  std::pair<int, nlohmann::json> call(const std::string &method,
                                      const std::string &path,
                                      const nlohmann::json &body = nullptr) {
    auto client = this->client();
    const auto text = body.is_null() ? std::string() : body.dump();
    BOOST_REQUIRE(method == "GET" || method == "POST" || method == "PATCH" ||
                  method == "DELETE");
    const auto result =
        method == "GET"     ? client.Get(path, auth)
        : method == "POST"  ? client.Post(path, auth, text, "application/json")
        : method == "PATCH" ? client.Patch(path, auth, text, "application/json")
                            : client.Delete(path, auth);
    BOOST_REQUIRE(result);
    return {result->status, result->body.empty()
                                ? nlohmann::json()
                                : nlohmann::json::parse(result->body)};
  }
  nlohmann::json create(const nlohmann::json &body) {
    const auto [status, answer] = call("POST", "/v1/webhooks", body);
    BOOST_REQUIRE_MESSAGE(status == 201, answer.dump());
    return answer;
  }
  webhook::Endpoint stored(const std::string &id) {
    const auto endpoint = sqlite->endpoint(id);
    BOOST_REQUIRE(endpoint);
    BOOST_REQUIRE(endpoint->has_value());
    return **endpoint;
  }
  // Enqueues a delivery created at created and makes one failed attempt of
  // it (status 500, "oops"), final if final, else due again in an hour.
  std::string failed_delivery(const std::string &endpoint_id,
                              webhook::TimePoint created, bool final = true) {
    webhook::Delivery delivery;
    delivery.id = "msg_" + std::to_string(created.time_since_epoch().count());
    delivery.endpoint_id = endpoint_id;
    delivery.event_type = "message.new";
    delivery.body = R"({"type":"message.new"})";
    delivery.created = delivery.next_attempt = created;
    BOOST_REQUIRE(sqlite->enqueue({delivery}));
    const auto claimed = sqlite->claim("test", webhook::Clock::now(),
                                       std::chrono::minutes(1), 10, 0);
    BOOST_REQUIRE(claimed);
    const auto ours =
        std::find_if(claimed->begin(), claimed->end(), [&](const auto &found) {
          return found.id == delivery.id;
        });
    BOOST_REQUIRE(ours != claimed->end());
    webhook::Attempt attempt;
    attempt.delivery_id = delivery.id;
    attempt.at = webhook::Clock::now();
    attempt.status = 500;
    attempt.latency = std::chrono::milliseconds(120);
    attempt.response = "oops";
    webhook::Outcome outcome;
    outcome.state = final ? webhook::DeliveryState::failed
                          : webhook::DeliveryState::pending;
    outcome.retry_at = webhook::Clock::now() + std::chrono::hours(1);
    BOOST_REQUIRE(sqlite->finish(*ours, "test", attempt, outcome));
    // others pending (a webhook.test) stay pending
    BOOST_REQUIRE(sqlite->release_owner("test"));
    return delivery.id;
  }
};

} // namespace dovewarden::test
