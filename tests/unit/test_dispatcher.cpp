#include "RedisServer.hpp"
#include "StoreSubject.hpp"
#include "TestUtil.hpp"
#include "webhook/Dispatcher.hpp"
#include "webhook/RedisWebhookStore.hpp"
#include "webhook/SqliteWebhookStore.hpp"

#include <boost/test/unit_test.hpp>
#include <nlohmann/json.hpp>
#include <prometheus/registry.h>

#include <filesystem>
#include <set>
#include <thread>

using namespace dovewarden;
using namespace std::chrono_literals;
using dovewarden::test::ok;
using webhook::Delivery;
using webhook::Dispatcher;
using webhook::Endpoint;
using webhook::SqliteWebhookStore;

namespace {

core::Event event_of(const std::string &type, const std::string &user,
                     const std::string &mailbox = "INBOX",
                     const std::string &origin = "client") {
  core::Event event;
  event.message.type = type;
  event.message.set("ts", std::int64_t{1'795'945'028'000'000});
  event.message.set("user", user);
  event.message.set("mailbox", mailbox);
  event.message.set("origin", origin);
  event.source = "zmq";
  event.received = std::chrono::system_clock::now();
  return event;
}

Endpoint endpoint_of(const std::string &id, std::vector<std::string> types,
                     const std::string &filter = "") {
  Endpoint endpoint;
  endpoint.id = id;
  endpoint.url = "https://hooks.example.com/" + id;
  endpoint.event_types = std::move(types);
  endpoint.filter = filter;
  endpoint.secrets = {{"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", {}}};
  endpoint.created = webhook::Clock::now();
  return endpoint;
}

// A dispatcher over a fresh SQLite store, with its counters.
struct Fixture {
  Fixture() : directory(test::make_temp_directory()) {
    store = ok(SqliteWebhookStore::open(directory));
  }
  ~Fixture() { std::filesystem::remove_all(directory); }

  Dispatcher make(Dispatcher::Options options = {}) {
    return Dispatcher(*store, options,
                      Dispatcher::Counters{enqueued, too_large},
                      [this] { stored++; });
  }
  void put(const Endpoint &endpoint) {
    BOOST_REQUIRE(ok(store->put_endpoint(endpoint, true)));
  }
  std::vector<Delivery> claim_all() {
    return ok(store->claim("test", webhook::Clock::now() + 1h, 1min, 1000, 0));
  }

  std::string directory;
  std::unique_ptr<SqliteWebhookStore> store;
  prometheus::Registry registry;
  prometheus::Family<prometheus::Counter> &family =
      prometheus::BuildCounter().Name("test_total").Register(registry);
  prometheus::Counter &enqueued = family.Add({{"c", "enqueued"}});
  prometheus::Counter &too_large = family.Add({{"c", "too_large"}});
  int stored = 0;
};

} // namespace

BOOST_FIXTURE_TEST_SUITE(dispatcher, Fixture)

BOOST_AUTO_TEST_CASE(each_matching_endpoint_gets_a_signed_body_to_deliver) {
  put(endpoint_of("ep_messages", {"message.*"}));
  put(endpoint_of("ep_flags", {"flags.*"}));
  put(endpoint_of("ep_bob", {"*"}, "user=bob* AND mailbox=INBOX"));
  auto dispatcher = make();
  dispatcher.handle(event_of("message.new", "alice@example.com"));
  dispatcher.handle(event_of("flags.set", "bob@example.com", "Sent"));
  dispatcher.handle(event_of("message.new", "bob@example.com"));
  dispatcher.flush();
  BOOST_TEST(stored == 1);
  BOOST_TEST(enqueued.Value() == 4);
  auto deliveries = claim_all();
  std::multiset<std::string> endpoints;
  for (const auto &delivery : deliveries) {
    endpoints.insert(delivery.endpoint_id);
    BOOST_TEST(delivery.id.rfind("msg_", 0) == 0);
    const auto body = nlohmann::json::parse(delivery.body);
    BOOST_TEST(body["type"] == delivery.event_type);
    BOOST_TEST(body["timestamp"] == "2026-11-29T09:37:08.000000Z");
  }
  BOOST_TEST(endpoints ==
                 (std::multiset<std::string>{"ep_bob", "ep_flags",
                                             "ep_messages", "ep_messages"}),
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(replicas_catching_up_and_disabled_endpoints_get_nothing) {
  put(endpoint_of("ep_all", {"*"}));
  auto disabled = endpoint_of("ep_off", {"*"});
  disabled.enabled = false;
  put(disabled);
  auto dispatcher = make();
  dispatcher.handle(
      event_of("message.append", "alice@example.com", "INBOX", "dsync"));
  dispatcher.handle(event_of("message.append", "alice@example.com"));
  dispatcher.flush();
  const auto deliveries = claim_all();
  BOOST_REQUIRE(deliveries.size() == 1u);
  BOOST_TEST(deliveries[0].endpoint_id == "ep_all");
}

BOOST_AUTO_TEST_CASE(a_changed_endpoint_is_seen_after_endpoints_changed) {
  auto dispatcher = make();
  dispatcher.handle(event_of("message.new", "alice@example.com"));
  dispatcher.flush();
  BOOST_TEST(claim_all().empty());
  put(endpoint_of("ep_new", {"message.*"}));
  dispatcher.endpoints_changed();
  dispatcher.handle(event_of("message.new", "alice@example.com"));
  dispatcher.flush();
  BOOST_TEST(claim_all().size() == 1u);
}

BOOST_AUTO_TEST_CASE(
    its_filter_passes_events_only_while_an_endpoint_is_enabled) {
  auto dispatcher = make();
  const auto filter = dispatcher.filter();
  const auto event = event_of("message.new", "alice@example.com");
  // the endpoints are read when it is made: none, so nothing passes from
  // the first event on
  BOOST_TEST(!filter->matches(event));
  dispatcher.flush();
  BOOST_TEST(!filter->matches(event));
  put(endpoint_of("ep_all", {"*"}));
  dispatcher.endpoints_changed();
  BOOST_TEST(filter->matches(event)); // before the reload
  dispatcher.handle(event);
  dispatcher.flush();
  BOOST_TEST(filter->matches(event));
  BOOST_TEST(enqueued.Value() == 1);
  auto off = endpoint_of("ep_all", {"*"});
  off.enabled = false;
  put(off);
  dispatcher.endpoints_changed();
  dispatcher.flush();
  BOOST_TEST(!filter->matches(event));
}

BOOST_AUTO_TEST_CASE(
    its_filter_is_open_from_the_start_with_an_endpoint_stored) {
  put(endpoint_of("ep_all", {"*"}));
  auto dispatcher = make();
  BOOST_TEST(dispatcher.filter()->matches(
      event_of("message.new", "alice@example.com")));
}

BOOST_AUTO_TEST_CASE(its_filter_opens_when_a_reload_finds_an_endpoint) {
  Dispatcher::Options options;
  options.reload_interval = 0ms; // every flush reloads
  auto dispatcher = make(options);
  const auto filter = dispatcher.filter();
  dispatcher.flush();
  BOOST_TEST(!filter->matches(event_of("message.new", "alice@example.com")));
  // another daemon on the same store: no endpoints_changed() here
  put(endpoint_of("ep_all", {"*"}));
  dispatcher.flush();
  BOOST_TEST(filter->matches(event_of("message.new", "alice@example.com")));
}

BOOST_AUTO_TEST_CASE(a_batching_endpoint_gets_one_array_per_batch) {
  auto batching = endpoint_of("ep_batch", {"message.*"});
  batching.batch_max = 3;
  batching.batch_wait = 1h;
  put(batching);
  auto dispatcher = make();
  for (int i = 0; i < 4; i++)
    dispatcher.handle(event_of("message.new", "u" + std::to_string(i)));
  dispatcher.flush();
  auto deliveries = claim_all();
  BOOST_REQUIRE(deliveries.size() == 1u); // the fourth waits for company
  BOOST_TEST(deliveries[0].events == 3u);
  const auto body = nlohmann::json::parse(deliveries[0].body);
  BOOST_REQUIRE(body.is_array());
  BOOST_TEST(body[2]["data"]["user"] == "u2");
  // stopping sends what is open, however small
  dispatcher.stop();
  deliveries = claim_all();
  BOOST_REQUIRE(deliveries.size() == 1u);
  BOOST_TEST(deliveries[0].events == 1u);
  BOOST_TEST(nlohmann::json::parse(deliveries[0].body)[0]["data"]["user"] ==
             "u3");
}

BOOST_AUTO_TEST_CASE(the_first_attempt_waits_the_schedules_first_wait) {
  put(endpoint_of("ep_all", {"*"}));
  Dispatcher::Options options;
  options.first_attempt = 1h;
  auto dispatcher = make(options);
  dispatcher.handle(event_of("message.new", "alice"));
  dispatcher.flush();
  BOOST_TEST(
      ok(store->claim("test", webhook::Clock::now(), 1min, 10, 0)).empty());
  BOOST_TEST(claim_all().size() == 1u); // due an hour from now
}

BOOST_AUTO_TEST_CASE(a_batch_goes_out_after_its_wait) {
  auto batching = endpoint_of("ep_batch", {"message.*"});
  batching.batch_max = 100;
  batching.batch_wait = 50ms;
  put(batching);
  auto dispatcher = make();
  dispatcher.handle(event_of("message.new", "alice"));
  dispatcher.handle(event_of("message.new", "bob"));
  dispatcher.flush();
  BOOST_TEST(claim_all().empty());
  // the batch's wait has to pass on the clock
  std::this_thread::sleep_for(60ms);
  dispatcher.flush();
  const auto deliveries = claim_all();
  BOOST_REQUIRE(deliveries.size() == 1u);
  BOOST_TEST(deliveries[0].events == 2u);
}

BOOST_AUTO_TEST_CASE(an_oversized_payload_is_refused_and_counted) {
  put(endpoint_of("ep_all", {"*"}));
  Dispatcher::Options options;
  options.max_payload = 1024;
  auto dispatcher = make(options);
  auto big = event_of("message.new", "alice");
  big.message.set("subject", std::string(2000, 'x'));
  dispatcher.handle(big);
  dispatcher.handle(event_of("message.new", "bob"));
  dispatcher.flush();
  BOOST_TEST(too_large.Value() == 1);
  const auto deliveries = claim_all();
  BOOST_REQUIRE(deliveries.size() == 1u);
  BOOST_TEST(deliveries[0].body.find("bob") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_failing_store_keeps_the_deliveries_for_the_next_flush) {
  test::RedisServer server({"--appendonly", "yes", "--appendfsync", "always"});
  webhook::RedisWebhookStore::Options options;
  options.port = server.port();
  options.timeout = 500ms;
  auto redis = ok(webhook::RedisWebhookStore::connect(options));
  BOOST_REQUIRE(ok(redis->put_endpoint(endpoint_of("ep_all", {"*"}), false)));
  Dispatcher dispatcher(*redis, {}, Dispatcher::Counters{enqueued, too_large},
                        [this] { stored++; });
  dispatcher.handle(event_of("message.new", "alice")); // endpoints loaded
  server.stop();
  dispatcher.handle(event_of("message.new", "bob"));
  BOOST_CHECK_THROW(dispatcher.flush(), std::runtime_error);
  BOOST_TEST(stored == 0);
  server.start();
  BOOST_REQUIRE(test::wait_until_answers(*redis));
  dispatcher.flush();
  BOOST_TEST(stored == 1);
  const auto deliveries =
      ok(redis->claim("test", webhook::Clock::now() + 1h, 1min, 10, 0));
  BOOST_TEST(deliveries.size() == 2u);
}

BOOST_AUTO_TEST_SUITE_END()
