#include "ReplicationApiFixture.hpp"
#include "WebhookApiFixture.hpp"
#include "admin/AdminEvents.hpp"
#include "admin/AdminToken.hpp"
#include "audit/RecordMapping.hpp"

#include <boost/test/unit_test.hpp>
#include <nlohmann/json.hpp>

#include <mutex>
#include <string>
#include <vector>

using dovewarden::admin::AdminEvents;
using dovewarden::admin::AdminToken;
using dovewarden::core::Event;

namespace {

// Keeps the events an admin server raises.
struct Raised {
  std::mutex mutex;
  std::vector<Event> events;

  AdminEvents::Publish publish() {
    return [this](Event event) {
      const std::lock_guard lock(mutex);
      events.push_back(std::move(event));
    };
  }
  std::vector<Event> all() {
    const std::lock_guard lock(mutex);
    return events;
  }
};

struct ReplicationEvents : dovewarden::test::ReplicationApiFixture {
  Raised raised;
  ReplicationEvents() { server->events().publish_to(raised.publish()); }
};

struct WebhookEvents : dovewarden::test::WebhookApiFixture {
  Raised raised;
  WebhookEvents() { server->events().publish_to(raised.publish()); }
};

} // namespace

BOOST_AUTO_TEST_SUITE(admin_events)

BOOST_AUTO_TEST_CASE(actor_is_the_tokens_name) {
  BOOST_TEST(AdminEvents::actor_of(AdminToken(
                 "t", "/etc/dovewarden/ops.token")) == "admin:ops.token");
  BOOST_TEST(AdminEvents::actor_of(AdminToken("t", AdminToken::k_token_env)) ==
             "admin:DOVEWARDEN_ADMIN_TOKEN");
}

BOOST_FIXTURE_TEST_CASE(replicate_raises_an_event_with_actor_and_caller,
                        ReplicationEvents) {
  const auto result = replicate({{"mask", "alex"}, {"priority", "high"}});
  BOOST_REQUIRE(result);
  BOOST_TEST(result->status == 200);
  const auto events = raised.all();
  BOOST_REQUIRE(events.size() == 1u);
  const auto &message = events[0].message;
  BOOST_TEST(events[0].type() == "admin.replicate");
  BOOST_TEST(message.str("actor") == "admin:");
  BOOST_TEST(message.str("ip") == "127.0.0.1");
  BOOST_TEST(message.integer("port") > 0);
  BOOST_TEST(message.str("method") == "POST");
  BOOST_TEST(message.str("path") == "/v1/replication/replicate");
  BOOST_TEST(message.integer("status") == 200);
  BOOST_TEST(message.str("mask") == "alex");
  BOOST_TEST(message.str("priority") == "high");

  // the audit record keeps who and from where in its columns
  const auto record = dovewarden::audit::to_record(events[0]);
  BOOST_TEST(record.operation == "admin.replicate");
  BOOST_TEST(record.actor == "admin:");
  BOOST_TEST(record.ip == "127.0.0.1");
  BOOST_TEST(record.port ==
             static_cast<std::uint32_t>(message.integer("port")));
  BOOST_TEST(record.service == "dovewardend");
}

BOOST_FIXTURE_TEST_CASE(refused_requests_raise_nothing, ReplicationEvents) {
  const auto bad = replicate({{"mask", ""}});
  BOOST_REQUIRE(bad);
  BOOST_TEST(bad->status == 400);
  auto unauthorized = client().Post("/v1/replication/replicate",
                                    R"({"mask":"alex"})", "application/json");
  BOOST_REQUIRE(unauthorized);
  BOOST_TEST(unauthorized->status == 401);
  // reading changes nothing
  BOOST_TEST(client().Get("/v1/replication/status", auth)->status == 200);
  BOOST_TEST(raised.all().empty());
}

BOOST_FIXTURE_TEST_CASE(removing_a_user_names_the_user, ReplicationEvents) {
  dovewarden::store::SyncRequest request;
  request.user = "alex";
  request.priority = dovewarden::store::Priority::low;
  request.requested = dovewarden::store::Clock::now();
  BOOST_REQUIRE(store.enqueue({request}));
  const auto result = client().Delete("/v1/replication/users/alex", auth);
  BOOST_REQUIRE(result);
  BOOST_TEST(result->status == 204);
  const auto events = raised.all();
  BOOST_REQUIRE(events.size() == 1u);
  BOOST_TEST(events[0].type() == "admin.remove_user");
  BOOST_TEST(events[0].message.str("user") == "alex");
  BOOST_TEST(dovewarden::audit::to_record(events[0]).user == "alex");
}

BOOST_FIXTURE_TEST_CASE(webhook_endpoint_changes_raise_events, WebhookEvents) {
  const auto endpoint = create(
      {{"url", "https://hooks.example.com/all"}, {"events", {"message.*"}}});
  const std::string id = endpoint["id"];
  BOOST_TEST(call("PATCH", "/v1/webhooks/" + id, {{"enabled", false}}).first ==
             200);
  BOOST_TEST(call("GET", "/v1/webhooks/" + id).first == 200);
  BOOST_TEST(call("DELETE", "/v1/webhooks/" + id).first == 204);
  const auto events = raised.all();
  BOOST_REQUIRE(events.size() == 3u);
  BOOST_TEST(events[0].type() == "admin.webhook_add");
  BOOST_TEST(events[0].message.str("endpoint_id") == id);
  BOOST_TEST(events[0].message.str("url_host") == "hooks.example.com");
  BOOST_TEST(events[0].message.integer("status") == 201);
  BOOST_TEST(events[1].type() == "admin.webhook_update");
  BOOST_TEST(events[1].message.str("path") == "/v1/webhooks/" + id);
  BOOST_TEST(events[2].type() == "admin.webhook_remove");
  for (const auto &event : events)
    BOOST_TEST(event.message.str("ip") == "127.0.0.1");
}

BOOST_AUTO_TEST_SUITE_END()
