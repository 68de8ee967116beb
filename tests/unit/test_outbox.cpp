// The deliverer's store calls against a real SQLite store.
#include "TestUtil.hpp"
#include "webhook/Outbox.hpp"
#include "webhook/Signature.hpp"
#include "webhook/SqliteWebhookStore.hpp"

#include <boost/test/unit_test.hpp>

#include <memory>
#include <string>
#include <unordered_set>
#include <utility>

using namespace dovewarden::webhook;
using namespace std::chrono_literals;
using dovewarden::test::ok;
using dovewarden::test::TempDir;

namespace {

struct Fixture {
  Fixture() {
    store = ok(SqliteWebhookStore::open(directory.path()));
    outbox = std::make_unique<Outbox>(*store, Outbox::Options{1s, 0ms});
  }
  ~Fixture() {
    outbox.reset();
    store.reset();
  }

  Endpoint put_endpoint(const std::string &id,
                        std::chrono::milliseconds timeout = 5s) {
    Endpoint endpoint;
    endpoint.id = id;
    endpoint.url = "https://hooks.example/" + id;
    endpoint.event_types = {"*"};
    endpoint.timeout = timeout;
    endpoint.secrets = {Secret{"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", {}}};
    endpoint.created = endpoint.updated = Clock::now();
    BOOST_REQUIRE(ok(store->put_endpoint(endpoint, true)));
    return endpoint;
  }

  Delivery enqueue(const std::string &endpoint_id, int n = 0) {
    Delivery delivery;
    delivery.id = "msg_" + endpoint_id + std::to_string(n);
    delivery.endpoint_id = endpoint_id;
    delivery.event_type = "message.new";
    delivery.body = "{}";
    delivery.created = delivery.next_attempt = Clock::now() - 1s;
    ok(store->enqueue({delivery}));
    return delivery;
  }

  static Outbox::ClaimRequest
  request(const std::string &owner, bool look,
          std::optional<std::uint64_t> known,
          std::unordered_set<std::string> known_ids = {}) {
    return Outbox::ClaimRequest{
        owner, 10, 10, 2s, known, look, std::move(known_ids)};
  }

  static Outbox::Judged judged(Delivery delivery, const std::string &owner,
                               int status, Verdict::Action action,
                               TimePoint at = Clock::now()) {
    Attempt attempt;
    attempt.delivery_id = delivery.id;
    attempt.at = at;
    attempt.status = status;
    Outcome outcome;
    outcome.state = action == Verdict::Action::retry ? DeliveryState::pending
                                                     : DeliveryState::failed;
    outcome.retry_at = Clock::now() + 1h;
    return Outbox::Judged{Finish{std::move(delivery), owner, attempt, outcome},
                          action, 1};
  }

  TempDir directory; // outlives the store in it
  std::unique_ptr<WebhookStore> store;
  std::unique_ptr<Outbox> outbox;
};

} // namespace

BOOST_FIXTURE_TEST_SUITE(outbox, Fixture)

BOOST_AUTO_TEST_CASE(a_claim_that_looks_reads_endpoints_it_does_not_know) {
  put_endpoint("ep_slow", 30s);
  enqueue("ep_slow");
  const auto started = Outbox::Steady::now();
  const auto claimed = outbox->claim(request("o#1", true, std::nullopt));
  BOOST_REQUIRE(claimed.endpoints.has_value());
  BOOST_REQUIRE_EQUAL(claimed.endpoints->endpoints.size(), 1u);
  BOOST_TEST(claimed.endpoints->version == ok(store->endpoints_version()));
  BOOST_TEST(ok(claimed.deliveries).size() == 1u);
  // leased long enough for the endpoint read, not just for the 2s asked
  BOOST_TEST((claimed.lease_end >= started + 30s + 1s));
  BOOST_TEST(outbox->store_ok());
}

BOOST_AUTO_TEST_CASE(a_claim_reads_no_endpoints_it_knows_or_need_not_look_at) {
  put_endpoint("ep_a");
  const auto version = ok(store->endpoints_version());
  outbox->take_endpoints_changed();
  BOOST_TEST(!outbox->claim(request("o#1", true, version)).endpoints);
  BOOST_TEST(!outbox->claim(request("o#2", false, std::nullopt)).endpoints);
}

BOOST_AUTO_TEST_CASE(a_delivery_found_after_a_change_comes_with_the_change) {
  auto endpoint = put_endpoint("ep_a");
  const auto version = ok(store->endpoints_version());
  outbox->take_endpoints_changed();
  // the admin API rotates the secret, tells, and a test delivery follows
  endpoint.secrets.insert(endpoint.secrets.begin(),
                          Secret{generate_secret(), {}});
  ok(store->put_endpoint(endpoint, true));
  outbox->endpoints_changed();
  enqueue("ep_a");
  const auto claimed = outbox->claim(request("o#1", false, version));
  BOOST_TEST(ok(claimed.deliveries).size() == 1u);
  BOOST_REQUIRE(claimed.endpoints.has_value());
  BOOST_TEST(claimed.endpoints->version != version);
  BOOST_TEST(claimed.endpoints->endpoints.at(0).secrets.size() == 2u);
}

BOOST_AUTO_TEST_CASE(a_delivery_for_an_endpoint_not_known_reads_the_endpoints) {
  put_endpoint("ep_a");
  const auto version = ok(store->endpoints_version());
  outbox->take_endpoints_changed();
  // another daemon adds an endpoint and enqueues for it, untold
  put_endpoint("ep_new");
  enqueue("ep_a");
  enqueue("ep_new");
  const auto claimed = outbox->claim(request("o#1", false, version, {"ep_a"}));
  BOOST_TEST(ok(claimed.deliveries).size() == 2u);
  BOOST_REQUIRE(claimed.endpoints.has_value());
  BOOST_TEST(claimed.endpoints->version == ok(store->endpoints_version()));
  BOOST_TEST(claimed.endpoints->endpoints.size() == 2u);
}

BOOST_AUTO_TEST_CASE(deliveries_for_endpoints_known_read_no_endpoints) {
  put_endpoint("ep_a");
  outbox->take_endpoints_changed();
  enqueue("ep_a");
  // known by id, even at a version that is not the store's
  const auto claimed = outbox->claim(request("o#1", false, 0, {"ep_a"}));
  BOOST_TEST(ok(claimed.deliveries).size() == 1u);
  BOOST_TEST(!claimed.endpoints);
}

BOOST_AUTO_TEST_CASE(gone_is_recorded_and_disables_the_endpoint) {
  put_endpoint("ep_gone");
  enqueue("ep_gone");
  auto found =
      ok(outbox->claim(request("o#1", false, std::nullopt)).deliveries);
  BOOST_REQUIRE_EQUAL(found.size(), 1u);
  const auto recorded =
      outbox->record({judged(found[0], "o#1", 410, Verdict::Action::disable)});
  BOOST_TEST(ok(recorded.finished) == std::vector<bool>{true});
  BOOST_REQUIRE_EQUAL(recorded.disabled.size(), 1u);
  BOOST_TEST(recorded.disabled[0].first.id == "ep_gone");
  BOOST_TEST(!recorded.disabled[0].first.enabled);
  BOOST_TEST(recorded.disabled[0].second == "410 Gone");
  const auto stored = ok(store->endpoint("ep_gone"));
  BOOST_TEST(!stored->enabled);
  BOOST_TEST(stored->disabled_reason == "410 Gone");
  const auto record = ok(store->delivery(found[0].id));
  BOOST_TEST((record->delivery.state == DeliveryState::failed));
  BOOST_TEST(record->attempts.size() == 1u);
}

BOOST_AUTO_TEST_CASE(an_endpoint_failing_too_long_is_disabled_once) {
  Outbox strict(*store, Outbox::Options{1s, 1min});
  put_endpoint("ep_down");
  enqueue("ep_down", 0);
  enqueue("ep_down", 1);
  const auto found =
      ok(strict.claim(request("o#1", false, std::nullopt)).deliveries);
  BOOST_REQUIRE_EQUAL(found.size(), 2u);
  const auto long_ago = Clock::now() - 2min;
  const auto recorded = strict.record(
      {judged(found[0], "o#1", 500, Verdict::Action::retry, long_ago),
       judged(found[1], "o#1", 503, Verdict::Action::retry, long_ago)});
  BOOST_TEST(ok(recorded.finished) == (std::vector<bool>{true, true}));
  BOOST_REQUIRE_EQUAL(recorded.disabled.size(), 1u);
  BOOST_TEST(recorded.disabled[0].second.rfind("failing since ", 0) == 0u,
             recorded.disabled[0].second);
  BOOST_TEST(ok(store->endpoint("ep_down"))->disabled_reason ==
             recorded.disabled[0].second);
}

BOOST_AUTO_TEST_CASE(an_endpoint_failing_briefly_stays_enabled) {
  Outbox strict(*store, Outbox::Options{1s, 1min});
  put_endpoint("ep_flaky");
  enqueue("ep_flaky");
  const auto found =
      ok(strict.claim(request("o#1", false, std::nullopt)).deliveries);
  BOOST_REQUIRE_EQUAL(found.size(), 1u);
  BOOST_TEST(
      strict.record({judged(found[0], "o#1", 500, Verdict::Action::retry)})
          .disabled.empty());
  BOOST_TEST(ok(store->endpoint("ep_flaky"))->enabled);
}

BOOST_AUTO_TEST_CASE(released_leases_can_be_claimed_again) {
  put_endpoint("ep_a");
  enqueue("ep_a");
  BOOST_TEST(ok(outbox->claim(request("o#1", false, std::nullopt)).deliveries)
                 .size() == 1u);
  BOOST_TEST(ok(outbox->claim(request("o#2", false, std::nullopt)).deliveries)
                 .empty());
  outbox->release("o#1");
  BOOST_TEST(ok(outbox->claim(request("o#2", false, std::nullopt)).deliveries)
                 .size() == 1u);
}

BOOST_AUTO_TEST_CASE(reads_the_endpoints_with_their_version) {
  put_endpoint("ep_a");
  put_endpoint("ep_b");
  const auto claimed = outbox->claim(request("o#1", true, std::nullopt));
  BOOST_REQUIRE(claimed.endpoints.has_value());
  const auto &read = *claimed.endpoints;
  BOOST_TEST(read.version == ok(store->endpoints_version()));
  BOOST_TEST(read.endpoints.size() == 2u);
  BOOST_TEST(outbox->pending().value_or(99) == 0u);
  BOOST_TEST((outbox->lease_for(10s) == 11s));
}

BOOST_AUTO_TEST_SUITE_END()
