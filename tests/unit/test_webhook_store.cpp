#include "RedisServer.hpp"
#include "StoreSubject.hpp"
#include "TestUtil.hpp"
#include "db/RedisConnection.hpp"
#include "webhook/RedisWebhookStore.hpp"
#include "webhook/SqliteWebhookStore.hpp"

#include <boost/test/data/monomorphic.hpp>
#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>

#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <memory>
#include <mutex>
#include <thread>

using namespace dovewarden;
using namespace std::chrono_literals;
using webhook::Attempt;
using webhook::Delivery;
using webhook::DeliveryRecord;
using webhook::DeliveryState;
using webhook::Endpoint;
using webhook::Outcome;
using webhook::RedisWebhookStore;
using webhook::SqliteWebhookStore;
using webhook::TimePoint;
using webhook::WebhookStore;

using dovewarden::test::kind_of;
using dovewarden::test::make_temp_directory;
using dovewarden::test::ok;
using dovewarden::test::shared_redis;
using dovewarden::test::wait_until;

namespace {

// the contract cases run once per backend
const std::vector<std::string> k_backends{"sqlite", "redis"};

// times are whole seconds after a fixed instant: the stores keep milliseconds
TimePoint at(int seconds) {
  return TimePoint(std::chrono::seconds(1'700'000'000 + seconds));
}

Endpoint endpoint(const std::string &id, int created) {
  Endpoint endpoint;
  endpoint.id = id;
  endpoint.url = "https://example.com/hooks/" + id;
  endpoint.event_types = {"message.*", "flags.set"};
  endpoint.filter = "user=*@example.com";
  endpoint.description = "for " + id;
  endpoint.timeout = 7s;
  endpoint.rate_limit = 2.5;
  endpoint.concurrency = 3;
  endpoint.batch_max = 10;
  endpoint.batch_wait = 250ms;
  endpoint.secrets = {{"whsec_current", TimePoint{}},
                      {"whsec_old", at(created + 3600)}};
  endpoint.created = at(created);
  endpoint.updated = at(created);
  return endpoint;
}

Delivery delivery(const std::string &id, const std::string &endpoint_id,
                  int created, int due) {
  Delivery delivery;
  delivery.id = "msg_" + id;
  delivery.endpoint_id = endpoint_id;
  delivery.event_type = "message.new";
  delivery.events = 1;
  delivery.body = R"({"type":"message.new","id":")" + id + "\"}";
  delivery.created = at(created);
  delivery.next_attempt = at(due);
  return delivery;
}

Attempt attempt(const Delivery &delivery, int seconds, int status) {
  Attempt attempt;
  attempt.delivery_id = delivery.id;
  attempt.at = at(seconds);
  attempt.status = status;
  attempt.latency = 42ms;
  attempt.response = "status " + std::to_string(status);
  if (status == 0)
    attempt.error = "connection refused";
  return attempt;
}

Outcome outcome(DeliveryState state, int retry_at = 0) {
  return Outcome{state, at(retry_at)};
}

std::unique_ptr<WebhookStore> connect_redis(int port, const std::string &ns) {
  return test::connect_redis<RedisWebhookStore>(port, ns);
}

using Subject =
    test::StoreSubject<WebhookStore, SqliteWebhookStore, RedisWebhookStore>;

std::vector<Delivery> claim(WebhookStore &store, const std::string &owner,
                            int seconds, std::size_t max = 100,
                            std::size_t per_endpoint = 0,
                            std::chrono::milliseconds lease = 60s) {
  return ok(store.claim(owner, at(seconds), lease, max, per_endpoint));
}

std::vector<std::string> ids(const std::vector<Delivery> &deliveries) {
  std::vector<std::string> result;
  for (const auto &delivery : deliveries)
    result.push_back(delivery.id);
  return result;
}

std::vector<std::string> ids(const std::vector<DeliveryRecord> &records) {
  std::vector<std::string> result;
  for (const auto &record : records)
    result.push_back(record.delivery.id);
  return result;
}

std::vector<std::string> ids(const std::vector<Endpoint> &endpoints) {
  std::vector<std::string> result;
  for (const auto &endpoint : endpoints)
    result.push_back(endpoint.id);
  return result;
}

DeliveryRecord record(WebhookStore &store, const std::string &id) {
  auto found = ok(store.delivery(id));
  BOOST_REQUIRE(found);
  return *found;
}

using Ids = std::vector<std::string>;

} // namespace

namespace std {
ostream &operator<<(ostream &out, const Ids &ids) {
  out << '[';
  for (const auto &id : ids)
    out << id << ' ';
  return out << ']';
}
} // namespace std

BOOST_AUTO_TEST_SUITE(webhook_store)

namespace data = boost::unit_test::data;

BOOST_DATA_TEST_CASE(endpoints_are_stored_replaced_listed_and_removed,
                     data::make(k_backends), backend) {
  Subject store(backend);
  BOOST_TEST(ok(store->endpoints()).empty());
  BOOST_TEST(!ok(store->endpoint("ep_a")));
  BOOST_TEST(ok(store->put_endpoint(endpoint("ep_a", 20), false)));
  BOOST_TEST(ok(store->put_endpoint(endpoint("ep_b", 10), false)));
  BOOST_TEST(ok(store->put_endpoint(endpoint("ep_c", 30), false)));
  BOOST_TEST((ids(ok(store->endpoints())) == Ids{"ep_b", "ep_a", "ep_c"}));

  const auto stored = ok(store->endpoint("ep_a"));
  BOOST_REQUIRE(stored);
  const Endpoint expected = endpoint("ep_a", 20);
  BOOST_TEST(stored->url == expected.url);
  BOOST_TEST(stored->event_types == expected.event_types,
             boost::test_tools::per_element());
  BOOST_TEST(stored->filter == expected.filter);
  BOOST_TEST(stored->description == expected.description);
  BOOST_TEST(stored->timeout.count() == 7000);
  BOOST_TEST(stored->rate_limit == 2.5);
  BOOST_TEST(stored->concurrency == 3u);
  BOOST_TEST(stored->batch_max == 10u);
  BOOST_TEST(stored->batch_wait.count() == 250);
  BOOST_TEST(stored->enabled);
  BOOST_REQUIRE(stored->secrets.size() == 2u);
  BOOST_TEST(stored->secrets[0].value == "whsec_current");
  BOOST_TEST((stored->secrets[0].expires == TimePoint{}));
  BOOST_TEST(stored->secrets[1].value == "whsec_old");
  BOOST_TEST((stored->secrets[1].expires == at(20 + 3600)));
  BOOST_TEST((stored->created == at(20)));
  BOOST_TEST((stored->failing_since == TimePoint{}));

  Endpoint changed = endpoint("ep_a", 20);
  changed.url = "https://example.org/other";
  changed.enabled = false;
  changed.disabled_reason = "HTTP 410";
  changed.updated = at(40);
  BOOST_TEST(!ok(store->put_endpoint(changed, false)));
  BOOST_TEST(ok(store->endpoint("ep_a"))->url == expected.url);
  BOOST_TEST(ok(store->put_endpoint(changed, true)));
  const auto replaced = ok(store->endpoint("ep_a"));
  BOOST_TEST(replaced->url == "https://example.org/other");
  BOOST_TEST(!replaced->enabled);
  BOOST_TEST(replaced->disabled_reason == "HTTP 410");
  BOOST_TEST((replaced->updated == at(40)));
  BOOST_TEST(ok(store->endpoints()).size() == 3u);

  BOOST_TEST(ok(store->remove_endpoint("ep_a")));
  BOOST_TEST(!ok(store->remove_endpoint("ep_a")));
  BOOST_TEST(!ok(store->endpoint("ep_a")));
  BOOST_TEST((ids(ok(store->endpoints())) == Ids{"ep_b", "ep_c"}));
}

BOOST_DATA_TEST_CASE(the_version_changes_with_every_endpoint_change,
                     data::make(k_backends), backend) {
  Subject store(backend);
  auto version = ok(store->endpoints_version());
  WebhookStore &subject = *store;
  const auto changes = [&subject, &version] {
    const auto now = ok(subject.endpoints_version());
    const bool changed = now != version;
    version = now;
    return changed;
  };
  ok(store->put_endpoint(endpoint("ep_a", 1), false));
  BOOST_TEST(changes());
  ok(store->put_endpoint(endpoint("ep_a", 1), false));
  BOOST_TEST(!changes());
  ok(store->put_endpoint(endpoint("ep_a", 1), true));
  BOOST_TEST(changes());
  ok(store->put_endpoint(endpoint("ep_b", 2), true));
  BOOST_TEST(changes());
  ok(store->remove_endpoint("ep_a"));
  BOOST_TEST(changes());
  ok(store->remove_endpoint("ep_a"));
  BOOST_TEST(!changes());
  ok(store->enqueue({delivery("1", "ep_b", 1, 1)}));
  BOOST_TEST(!changes());
}

BOOST_DATA_TEST_CASE(removing_an_endpoint_removes_its_deliveries,
                     data::make(k_backends), backend) {
  Subject store(backend);
  ok(store->put_endpoint(endpoint("ep_a", 1), false));
  ok(store->put_endpoint(endpoint("ep_b", 2), false));
  const auto a1 = delivery("a1", "ep_a", 1, 1);
  ok(store->enqueue(
      {a1, delivery("a2", "ep_a", 2, 2), delivery("b1", "ep_b", 3, 3)}));
  BOOST_REQUIRE(claim(*store, "w1", 5, 1).size() == 1u);
  ok(store->finish(a1, "w1", attempt(a1, 5, 200),
                   outcome(DeliveryState::succeeded)));
  BOOST_TEST(ok(store->pending()) == 2u);

  BOOST_TEST(ok(store->remove_endpoint("ep_a")));
  BOOST_TEST(ok(store->deliveries("ep_a", 10)).empty());
  BOOST_TEST(!ok(store->delivery("msg_a1")));
  BOOST_TEST(!ok(store->delivery("msg_a2")));
  BOOST_TEST(ok(store->pending()) == 1u);
  BOOST_TEST((ids(claim(*store, "w1", 10)) == Ids{"msg_b1"}));
}

BOOST_DATA_TEST_CASE(claims_the_oldest_due_first_and_not_before_due,
                     data::make(k_backends), backend) {
  Subject store(backend);
  Delivery batch = delivery("3", "ep_a", 1, 3);
  batch.events = 4;
  batch.event_type = "flags.set";
  ok(store->enqueue(
      {delivery("5", "ep_a", 1, 5), batch, delivery("10", "ep_a", 1, 10)}));
  BOOST_TEST(claim(*store, "w1", 2).empty());
  const auto first = claim(*store, "w1", 6);
  BOOST_TEST((ids(first) == Ids{"msg_3", "msg_5"}));
  BOOST_REQUIRE(!first.empty());
  BOOST_TEST(first[0].endpoint_id == "ep_a");
  BOOST_TEST(first[0].event_type == "flags.set");
  BOOST_TEST(first[0].events == 4u);
  BOOST_TEST(first[0].body == batch.body);
  BOOST_TEST((first[0].created == at(1)));
  BOOST_TEST((first[0].next_attempt == at(3)));
  BOOST_TEST(first[0].attempts == 0u);
  BOOST_TEST((first[0].state == DeliveryState::pending));
  BOOST_TEST(claim(*store, "w1", 9).empty());
  BOOST_TEST((ids(claim(*store, "w1", 10)) == Ids{"msg_10"}));
  BOOST_TEST(ok(store->pending()) == 3u);
}

BOOST_DATA_TEST_CASE(enqueue_is_all_or_nothing, data::make(k_backends),
                     backend) {
  Subject store(backend);
  ok(store->enqueue({delivery("1", "ep_a", 1, 1)}));
  BOOST_TEST(kind_of(store->enqueue(
                 {delivery("2", "ep_a", 1, 1), delivery("1", "ep_a", 1, 1)})) ==
             "conflict");
  BOOST_TEST(!ok(store->delivery("msg_2")));
  BOOST_TEST(ok(store->pending()) == 1u);
  BOOST_TEST((ids(claim(*store, "w1", 5)) == Ids{"msg_1"}));
}

BOOST_DATA_TEST_CASE(invalid_arguments_are_refused_and_change_nothing,
                     data::make(k_backends), backend) {
  Subject store(backend);
  BOOST_TEST(kind_of(store->put_endpoint(endpoint("", 1), true)) == "invalid");
  BOOST_TEST(ok(store->endpoints()).empty());
  auto unnamed = delivery("1", "ep_a", 1, 1);
  unnamed.id.clear();
  BOOST_TEST(kind_of(store->enqueue({delivery("2", "ep_a", 1, 1), unnamed})) ==
             "invalid");
  BOOST_TEST(ok(store->pending()) == 0u);
  ok(store->enqueue({delivery("3", "ep_a", 1, 1)}));
  BOOST_TEST(kind_of(store->claim("", at(2), 60s, 10, 0)) == "invalid");
  BOOST_TEST((ids(claim(*store, "w1", 2)) == Ids{"msg_3"}));
}

BOOST_DATA_TEST_CASE(max_bounds_the_claim, data::make(k_backends), backend) {
  Subject store(backend);
  ok(store->enqueue({delivery("1", "ep_a", 1, 1), delivery("2", "ep_b", 1, 2),
                     delivery("3", "ep_c", 1, 3)}));
  BOOST_TEST((ids(claim(*store, "w1", 5, 2)) == Ids{"msg_1", "msg_2"}));
  BOOST_TEST((ids(claim(*store, "w1", 5, 2)) == Ids{"msg_3"}));
  BOOST_TEST(claim(*store, "w1", 5, 0).empty());
}

BOOST_DATA_TEST_CASE(a_leased_delivery_is_not_claimed_until_the_lease_ends,
                     data::make(k_backends), backend) {
  Subject store(backend);
  ok(store->enqueue({delivery("1", "ep_a", 1, 1)}));
  BOOST_TEST((ids(claim(*store, "w1", 1, 10, 0, 60s)) == Ids{"msg_1"}));
  BOOST_TEST(claim(*store, "w2", 2).empty());
  BOOST_TEST(claim(*store, "w1", 60).empty());
  // the lease expired: claimable again, by anyone
  const auto again = claim(*store, "w2", 61);
  BOOST_TEST((ids(again) == Ids{"msg_1"}));
  BOOST_TEST(claim(*store, "w1", 62).empty());
}

BOOST_DATA_TEST_CASE(per_endpoint_bounds_one_endpoints_share,
                     data::make(k_backends), backend) {
  Subject store(backend);
  std::vector<Delivery> batch;
  for (int i = 1; i <= 5; i++)
    batch.push_back(delivery("a" + std::to_string(i), "ep_a", 1, i));
  batch.push_back(delivery("b6", "ep_b", 1, 6));
  batch.push_back(delivery("b7", "ep_b", 1, 7));
  batch.push_back(delivery("c8", "ep_c", 1, 8));
  ok(store->enqueue(batch));
  BOOST_TEST((ids(claim(*store, "w1", 10, 4, 2)) ==
              Ids{"msg_a1", "msg_a2", "msg_b6", "msg_b7"}));
  BOOST_TEST((ids(claim(*store, "w1", 10, 10, 2)) ==
              Ids{"msg_a3", "msg_a4", "msg_c8"}));
  BOOST_TEST((ids(claim(*store, "w1", 10, 10, 0)) == Ids{"msg_a5"}));
}

BOOST_DATA_TEST_CASE(finish_applies_retry_success_and_failure,
                     data::make(k_backends), backend) {
  Subject store(backend);
  const auto d1 = delivery("1", "ep_a", 1, 1);
  const auto d2 = delivery("2", "ep_a", 1, 2);
  ok(store->enqueue({d1, d2}));
  BOOST_REQUIRE(claim(*store, "w1", 5, 10, 0, 1000s).size() == 2u);

  BOOST_TEST(ok(store->finish(d1, "w1", attempt(d1, 5, 503),
                              outcome(DeliveryState::pending, 100))));
  auto retried = record(*store, d1.id).delivery;
  BOOST_TEST((retried.state == DeliveryState::pending));
  BOOST_TEST(retried.attempts == 1u);
  BOOST_TEST((retried.next_attempt == at(100)));
  BOOST_TEST(claim(*store, "w2", 99).empty());
  BOOST_TEST((ids(claim(*store, "w2", 100)) == Ids{d1.id}));
  BOOST_TEST(ok(store->finish(d1, "w2", attempt(d1, 100, 200),
                              outcome(DeliveryState::succeeded))));
  const auto succeeded = record(*store, d1.id).delivery;
  BOOST_TEST((succeeded.state == DeliveryState::succeeded));
  BOOST_TEST(succeeded.attempts == 2u);

  BOOST_TEST(ok(store->finish(d2, "w1", attempt(d2, 6, 0),
                              outcome(DeliveryState::failed))));
  const auto failed = record(*store, d2.id).delivery;
  BOOST_TEST((failed.state == DeliveryState::failed));
  BOOST_TEST(failed.attempts == 1u);
  BOOST_TEST(ok(store->pending()) == 0u);
  BOOST_TEST(claim(*store, "w1", 1000).empty());
}

BOOST_DATA_TEST_CASE(finish_by_a_stale_owner_only_logs_the_attempt,
                     data::make(k_backends), backend) {
  Subject store(backend);
  const auto d1 = delivery("1", "ep_a", 1, 1);
  ok(store->enqueue({d1}));
  BOOST_REQUIRE(claim(*store, "w1", 1, 10, 0, 10s).size() == 1u);
  BOOST_REQUIRE(claim(*store, "w2", 20, 10, 0, 60s).size() == 1u);
  BOOST_TEST(!ok(store->finish(d1, "w1", attempt(d1, 21, 200),
                               outcome(DeliveryState::succeeded))));
  const auto after = record(*store, d1.id);
  BOOST_TEST((after.delivery.state == DeliveryState::pending));
  BOOST_TEST(after.delivery.attempts == 0u);
  BOOST_TEST(after.attempts.size() == 1u);
  // w2 still holds it
  BOOST_TEST(claim(*store, "w3", 30).empty());
  BOOST_TEST(ok(store->finish(d1, "w2", attempt(d1, 31, 200),
                              outcome(DeliveryState::succeeded))));
  BOOST_TEST(
      (record(*store, d1.id).delivery.state == DeliveryState::succeeded));
  // nobody holds it any more
  BOOST_TEST(!ok(store->finish(d1, "w2", attempt(d1, 32, 200),
                               outcome(DeliveryState::succeeded))));
  // a delivery that is gone has nothing to log
  const auto gone = delivery("gone", "ep_a", 1, 1);
  BOOST_TEST(!ok(store->finish(gone, "w1", attempt(gone, 33, 200),
                               outcome(DeliveryState::succeeded))));
  BOOST_TEST(!ok(store->delivery(gone.id)));
}

BOOST_DATA_TEST_CASE(finish_all_finishes_each_as_finish_would,
                     data::make(k_backends), backend) {
  Subject store(backend);
  const auto d1 = delivery("1", "ep_a", 1, 1);
  const auto d2 = delivery("2", "ep_a", 1, 2);
  const auto d3 = delivery("3", "ep_a", 1, 3);
  const auto gone = delivery("gone", "ep_a", 1, 4);
  ok(store->enqueue({d1, d2, d3}));
  BOOST_REQUIRE(claim(*store, "w1", 5, 10, 0, 1000s).size() == 3u);
  BOOST_TEST(ok(store->finish_all({})).empty());

  const auto held = ok(store->finish_all({
      {d1, "w1", attempt(d1, 6, 200), outcome(DeliveryState::succeeded)},
      {d2, "w1", attempt(d2, 6, 503), outcome(DeliveryState::pending, 100)},
      {gone, "w1", attempt(gone, 6, 200), outcome(DeliveryState::succeeded)},
      {d3, "w9", attempt(d3, 6, 200), outcome(DeliveryState::succeeded)},
  }));
  BOOST_TEST((held == std::vector<bool>{true, true, false, false}));

  const auto r1 = record(*store, d1.id);
  BOOST_TEST((r1.delivery.state == DeliveryState::succeeded));
  BOOST_TEST(r1.delivery.attempts == 1u);
  BOOST_TEST(r1.attempts.size() == 1u);
  const auto r2 = record(*store, d2.id);
  BOOST_TEST((r2.delivery.state == DeliveryState::pending));
  BOOST_TEST(r2.delivery.attempts == 1u);
  BOOST_TEST((r2.delivery.next_attempt == at(100)));
  BOOST_TEST(r2.attempts.front().status == 503);
  // a stale owner's attempt is logged, the delivery left alone
  const auto r3 = record(*store, d3.id);
  BOOST_TEST((r3.delivery.state == DeliveryState::pending));
  BOOST_TEST(r3.delivery.attempts == 0u);
  BOOST_TEST(r3.attempts.size() == 1u);
  BOOST_TEST(!ok(store->delivery(gone.id)));
  BOOST_TEST(ok(store->pending()) == 2u);
  // d3 is still leased to w1, d2 due again at 100
  BOOST_TEST(claim(*store, "w2", 50).empty());
  BOOST_TEST((ids(claim(*store, "w2", 100)) == Ids{d2.id}));
}

BOOST_DATA_TEST_CASE(finish_keeps_failing_since, data::make(k_backends),
                     backend) {
  Subject store(backend);
  ok(store->put_endpoint(endpoint("ep_a", 1), false));
  std::vector<Delivery> batch;
  for (int i = 1; i <= 4; i++)
    batch.push_back(delivery(std::to_string(i), "ep_a", 1, i));
  ok(store->enqueue(batch));
  BOOST_REQUIRE(claim(*store, "w1", 5).size() == 4u);
  WebhookStore &subject = *store;
  const auto failing_since = [&subject] {
    return ok(subject.endpoint("ep_a"))->failing_since;
  };
  auto version = ok(store->endpoints_version());

  ok(store->finish(batch[0], "w1", attempt(batch[0], 10, 500),
                   outcome(DeliveryState::pending, 20)));
  BOOST_TEST((failing_since() == at(10)));
  BOOST_TEST(ok(store->endpoints_version()) != version);
  version = ok(store->endpoints_version());
  ok(store->finish(batch[1], "w1", attempt(batch[1], 11, 0),
                   outcome(DeliveryState::failed)));
  BOOST_TEST((failing_since() == at(10)));
  BOOST_TEST(ok(store->endpoints_version()) == version);
  ok(store->finish(batch[2], "w1", attempt(batch[2], 12, 200),
                   outcome(DeliveryState::succeeded)));
  BOOST_TEST((failing_since() == TimePoint{}));
  BOOST_TEST(ok(store->endpoints_version()) != version);
  ok(store->finish(batch[3], "w1", attempt(batch[3], 13, 301),
                   outcome(DeliveryState::pending, 20)));
  BOOST_TEST((failing_since() == at(13)));
  BOOST_TEST((ok(store->endpoints())[0].failing_since == at(13)));
}

BOOST_DATA_TEST_CASE(the_log_lists_newest_first_with_attempts_oldest_first,
                     data::make(k_backends), backend) {
  Subject store(backend);
  const auto old = delivery("old", "ep_a", 1, 1);
  const auto mid = delivery("mid", "ep_a", 2, 100);
  const auto neu = delivery("new", "ep_a", 3, 100);
  ok(store->enqueue({old, neu, mid, delivery("other", "ep_b", 4, 100)}));
  BOOST_REQUIRE(claim(*store, "w1", 5, 1).size() == 1u);
  ok(store->finish(old, "w1", attempt(old, 5, 0),
                   outcome(DeliveryState::pending, 6)));
  BOOST_REQUIRE(claim(*store, "w1", 6, 1).size() == 1u);
  // a response body as large as the deliverer keeps, not all text
  std::string large(256 * 1024, 'x');
  large[10] = '\0';
  large[11] = '\xff';
  Attempt last = attempt(old, 7, 200);
  last.response = large;
  last.latency = 1234ms;
  ok(store->finish(old, "w1", last, outcome(DeliveryState::succeeded)));

  const auto log = ok(store->deliveries("ep_a", 10));
  BOOST_TEST((ids(log) == Ids{"msg_new", "msg_mid", "msg_old"}));
  BOOST_TEST(
      (ids(ok(store->deliveries("ep_a", 2))) == Ids{"msg_new", "msg_mid"}));
  BOOST_REQUIRE(log.size() == 3u);
  BOOST_TEST(log[0].attempts.empty());
  const auto &attempts = log[2].attempts;
  BOOST_REQUIRE(attempts.size() == 2u);
  BOOST_TEST(attempts[0].delivery_id == "msg_old");
  BOOST_TEST((attempts[0].at == at(5)));
  BOOST_TEST(attempts[0].status == 0);
  BOOST_TEST(attempts[0].error == "connection refused");
  BOOST_TEST(attempts[0].latency.count() == 42);
  BOOST_TEST(attempts[0].response == "status 0");
  BOOST_TEST((attempts[1].at == at(7)));
  BOOST_TEST(attempts[1].status == 200);
  BOOST_TEST(attempts[1].error == "");
  BOOST_TEST(attempts[1].latency.count() == 1234);
  BOOST_TEST((attempts[1].response == large));

  const auto one = record(*store, "msg_old");
  BOOST_TEST(one.delivery.body == old.body);
  BOOST_TEST((one.delivery.state == DeliveryState::succeeded));
  BOOST_TEST(one.attempts.size() == 2u);
  BOOST_TEST(!ok(store->delivery("msg_unknown")));
  BOOST_TEST(ok(store->deliveries("ep_unknown", 10)).empty());
}

BOOST_DATA_TEST_CASE(redeliver_keeps_the_id_and_starts_over,
                     data::make(k_backends), backend) {
  Subject store(backend);
  const auto d1 = delivery("1", "ep_a", 1, 1);
  ok(store->enqueue({d1}));
  BOOST_REQUIRE(claim(*store, "w1", 1).size() == 1u);
  ok(store->finish(d1, "w1", attempt(d1, 2, 500),
                   outcome(DeliveryState::failed)));
  BOOST_TEST(claim(*store, "w1", 50).empty());
  BOOST_TEST(ok(store->redeliver(d1.id, at(50))));
  BOOST_TEST(!ok(store->redeliver("msg_unknown", at(50))));
  const auto again = record(*store, d1.id);
  BOOST_TEST((again.delivery.state == DeliveryState::pending));
  BOOST_TEST(again.delivery.attempts == 0u);
  BOOST_TEST((again.delivery.next_attempt == at(50)));
  BOOST_TEST(again.attempts.size() == 1u);
  BOOST_TEST(ok(store->pending()) == 1u);
  BOOST_TEST(claim(*store, "w1", 49).empty());
  BOOST_TEST((ids(claim(*store, "w1", 50)) == Ids{d1.id}));
}

BOOST_DATA_TEST_CASE(recover_takes_the_failed_in_the_range,
                     data::make(k_backends), backend) {
  Subject store(backend);
  std::vector<Delivery> batch{
      delivery("f9", "ep_a", 9, 1),   delivery("f10", "ep_a", 10, 1),
      delivery("f20", "ep_a", 20, 1), delivery("s20", "ep_a", 20, 1),
      delivery("f30", "ep_a", 30, 1), delivery("b20", "ep_b", 20, 1)};
  ok(store->enqueue(batch));
  BOOST_REQUIRE(claim(*store, "w1", 40).size() == batch.size());
  for (const auto &d : batch) {
    const bool success = d.id == "msg_s20";
    ok(store->finish(
        d, "w1", attempt(d, 40, success ? 200 : 500),
        outcome(success ? DeliveryState::succeeded : DeliveryState::failed)));
  }
  BOOST_TEST(ok(store->recover("ep_a", at(10), at(30), at(100))) == 2u);
  BOOST_TEST(ok(store->pending()) == 2u);
  for (const char *id : {"msg_f10", "msg_f20"}) {
    const auto recovered = record(*store, id).delivery;
    BOOST_TEST((recovered.state == DeliveryState::pending));
    BOOST_TEST(recovered.attempts == 0u);
    BOOST_TEST((recovered.next_attempt == at(100)));
  }
  for (const char *id : {"msg_f9", "msg_f30", "msg_b20"})
    BOOST_TEST((record(*store, id).delivery.state == DeliveryState::failed));
  BOOST_TEST(
      (record(*store, "msg_s20").delivery.state == DeliveryState::succeeded));
  BOOST_TEST((ids(claim(*store, "w1", 100)) == Ids{"msg_f10", "msg_f20"}));
  BOOST_TEST(ok(store->recover("ep_a", at(10), at(30), at(100))) == 0u);
}

BOOST_DATA_TEST_CASE(pending_counts_waiting_and_leased, data::make(k_backends),
                     backend) {
  Subject store(backend);
  BOOST_TEST(ok(store->pending()) == 0u);
  ok(store->enqueue({delivery("1", "ep_a", 1, 1), delivery("2", "ep_a", 1, 2),
                     delivery("3", "ep_a", 1, 500)}));
  BOOST_TEST(ok(store->pending()) == 3u);
  BOOST_REQUIRE(claim(*store, "w1", 5, 1).size() == 1u);
  BOOST_TEST(ok(store->pending()) == 3u);
  ok(store->enqueue({}));
  BOOST_TEST(ok(store->pending()) == 3u);
}

BOOST_DATA_TEST_CASE(prune_deletes_finished_deliveries_created_before,
                     data::make(k_backends), backend) {
  Subject store(backend);
  const std::vector<Delivery> batch{
      delivery("s1", "ep_a", 1, 1), delivery("f2", "ep_b", 2, 1),
      delivery("p3", "ep_a", 3, 1), delivery("s10", "ep_a", 10, 1)};
  ok(store->enqueue(batch));
  BOOST_REQUIRE(claim(*store, "w1", 20).size() == 4u);
  ok(store->finish(batch[0], "w1", attempt(batch[0], 20, 200),
                   outcome(DeliveryState::succeeded)));
  ok(store->finish(batch[1], "w1", attempt(batch[1], 20, 500),
                   outcome(DeliveryState::failed)));
  ok(store->finish(batch[2], "w1", attempt(batch[2], 20, 500),
                   outcome(DeliveryState::pending, 30)));
  ok(store->finish(batch[3], "w1", attempt(batch[3], 20, 200),
                   outcome(DeliveryState::succeeded)));

  BOOST_TEST(ok(store->prune(at(10))) == 2u);
  BOOST_TEST(!ok(store->delivery("msg_s1")));
  BOOST_TEST(!ok(store->delivery("msg_f2")));
  BOOST_TEST(record(*store, "msg_p3").attempts.size() == 1u);
  BOOST_TEST(record(*store, "msg_s10").attempts.size() == 1u);
  BOOST_TEST(
      (ids(ok(store->deliveries("ep_a", 10))) == Ids{"msg_s10", "msg_p3"}));
  BOOST_TEST(ok(store->deliveries("ep_b", 10)).empty());
  BOOST_TEST(ok(store->pending()) == 1u);
  BOOST_TEST(ok(store->prune(at(10))) == 0u);
  // a delivery enqueued again under a pruned id starts without attempts
  ok(store->enqueue({delivery("s1", "ep_a", 40, 40)}));
  BOOST_TEST(record(*store, "msg_s1").attempts.empty());
}

BOOST_DATA_TEST_CASE(release_owner_gives_back_its_leases,
                     data::make(k_backends), backend) {
  Subject store(backend);
  ok(store->enqueue({delivery("1", "ep_a", 1, 1), delivery("2", "ep_a", 1, 2),
                     delivery("3", "ep_a", 1, 3)}));
  BOOST_REQUIRE(claim(*store, "w1", 5, 2).size() == 2u);
  BOOST_REQUIRE(claim(*store, "w2", 5, 2).size() == 1u);
  BOOST_TEST(ok(store->release_owner("w1")) == 2u);
  BOOST_TEST(ok(store->release_owner("w1")) == 0u);
  BOOST_TEST(ok(store->release_owner("")) == 0u);
  BOOST_TEST((ids(claim(*store, "w3", 6)) == Ids{"msg_1", "msg_2"}));
}

BOOST_DATA_TEST_CASE(concurrent_claims_never_share_a_delivery,
                     data::make(k_backends), backend) {
  Subject store(backend);
  std::vector<Delivery> batch;
  for (int i = 0; i < 200; i++)
    batch.push_back(
        delivery(std::to_string(i), "ep_" + std::to_string(i % 7), 1, i % 50));
  ok(store->enqueue(batch));
  std::mutex mutex;
  std::vector<std::string> claimed;
  std::vector<std::string> errors;
  std::vector<std::thread> workers;
  WebhookStore &shared = *store;
  for (int w = 0; w < 4; w++) {
    workers.emplace_back(
        [&shared, &mutex, &claimed, &errors, owner = "w" + std::to_string(w)] {
          for (;;) {
            auto next = shared.claim(owner, at(100), 60s, 7, 3);
            const std::lock_guard lock(mutex);
            if (!next)
              errors.push_back(next.error().message);
            if (!next || next->empty())
              return;
            for (const auto &delivery : *next)
              claimed.push_back(delivery.id);
          }
        });
  }
  for (auto &worker : workers)
    worker.join();
  BOOST_TEST(errors.empty());
  std::sort(claimed.begin(), claimed.end());
  BOOST_TEST(claimed.size() == 200u);
  BOOST_TEST(
      (std::adjacent_find(claimed.begin(), claimed.end()) == claimed.end()));
}

// the backends' own durability and failure behaviour

BOOST_AUTO_TEST_CASE(sqlite_reopen_keeps_endpoints_and_deliveries) {
  const std::string directory = make_temp_directory();
  const std::string path = directory + "/store";
  const auto d1 = delivery("1", "ep_a", 1, 1);
  std::uint64_t version = 0;
  {
    auto store = ok(SqliteWebhookStore::open(path));
    ok(store->put_endpoint(endpoint("ep_a", 1), false));
    ok(store->enqueue({d1, delivery("2", "ep_a", 2, 2)}));
    BOOST_REQUIRE(claim(*store, "w1", 3, 1).size() == 1u);
    ok(store->finish(d1, "w1", attempt(d1, 3, 500),
                     outcome(DeliveryState::pending, 10)));
    version = ok(store->endpoints_version());
  }
  BOOST_TEST(std::filesystem::exists(path + "/webhooks.db"));
  {
    auto store = ok(SqliteWebhookStore::open(path));
    ok(store->ping());
    BOOST_TEST(ok(store->endpoint("ep_a"))->url == endpoint("ep_a", 1).url);
    BOOST_TEST(ok(store->endpoints_version()) == version);
    BOOST_TEST(ok(store->pending()) == 2u);
    BOOST_TEST(record(*store, d1.id).attempts.size() == 1u);
    BOOST_TEST((ids(claim(*store, "w1", 10)) == Ids{"msg_2", "msg_1"}));
  }
  std::filesystem::remove_all(directory);
}

BOOST_AUTO_TEST_CASE(sqlite_reports_a_directory_it_cannot_create) {
  const auto opened = SqliteWebhookStore::open("/nonexistent/dir/store");
  BOOST_REQUIRE(!opened);
  BOOST_TEST(kind_of(opened) == "unavailable");
  BOOST_TEST(opened.error().message.find("/nonexistent/dir/store") !=
             std::string::npos);
}

BOOST_AUTO_TEST_CASE(sqlite_keeps_the_secrets_from_other_users) {
  const test::Umask umask(022);
  const std::string directory = make_temp_directory() + "/store";
  BOOST_REQUIRE(::mkdir(directory.c_str(), 0755) == 0);
  {
    auto store = ok(SqliteWebhookStore::open(directory));
    ok(store->put_endpoint(endpoint("ep_a", 1), false)); // with its secrets
    ok(store->enqueue({delivery("1", "ep_a", 1, 1)}));
    BOOST_TEST(test::mode_of(directory) == 0700u);
    BOOST_TEST(test::mode_of(directory + "/webhooks.db") == 0600u);
    BOOST_TEST(test::mode_of(directory + "/webhooks.db-wal") == 0600u);
  }
  std::filesystem::remove_all(std::filesystem::path(directory).parent_path());
}

BOOST_AUTO_TEST_CASE(sqlite_is_not_writable_from_a_failed_write_to_a_probe) {
  const std::string directory = make_temp_directory();
  auto store = ok(SqliteWebhookStore::open(directory));
  ok(store->enqueue({delivery("1", "ep_a", 1, 1)}));
  WebhookStore::Result<void> written;
  bool writable_while_full = true;
  {
    const test::FileSizeLimit full(1024); // not one page more
    BOOST_REQUIRE(full.set());
    std::thread([&] {
      written = store->enqueue({delivery("2", "ep_a", 2, 2)});
    }).join();
    // reads answer, and write probes (after about 1 s) fail
    writable_while_full = wait_until(
        [&] { return store->pending().has_value() && store->check(); }, 2500ms);
  }
  BOOST_TEST(kind_of(written) == "unavailable");
  BOOST_TEST(!writable_while_full);
  BOOST_TEST(wait_until([&] { return store->check(); }));
  ok(store->enqueue({delivery("2", "ep_a", 2, 2)}));
  std::filesystem::remove_all(directory);
}

BOOST_AUTO_TEST_CASE(sqlite_reports_a_full_disk_as_unavailable) {
  const std::string directory = make_temp_directory();
  auto store = ok(SqliteWebhookStore::open(directory));
  ok(store->enqueue({delivery("1", "ep_a", 1, 1)}));
  Delivery large = delivery("large", "ep_a", 1, 1);
  large.body = std::string(1024 * 1024, 'x');
  WebhookStore::Result<void> written;
  {
    const test::FileSizeLimit full(64 * 1024);
    BOOST_REQUIRE(full.set());
    written = store->enqueue({large});
  }
  BOOST_TEST(kind_of(written) == "unavailable");
  // nothing of the batch is kept; with room again the store takes it
  BOOST_TEST(ok(store->pending()) == 1u);
  ok(store->enqueue({large}));
  BOOST_TEST(record(*store, large.id).delivery.body == large.body);
  std::filesystem::remove_all(directory);
}

BOOST_AUTO_TEST_CASE(sqlite_reports_an_undecodable_endpoint_as_corrupt) {
  const std::string directory = make_temp_directory();
  ok(ok(SqliteWebhookStore::open(directory))
         ->put_endpoint(endpoint("ep_a", 1), false));
  sqlite3 *raw = nullptr;
  BOOST_REQUIRE(sqlite3_open((directory + "/webhooks.db").c_str(), &raw) ==
                SQLITE_OK);
  BOOST_REQUIRE(sqlite3_exec(raw, "UPDATE endpoints SET data = 'not json'",
                             nullptr, nullptr, nullptr) == SQLITE_OK);
  sqlite3_close(raw);
  auto store = ok(SqliteWebhookStore::open(directory));
  BOOST_TEST(kind_of(store->endpoint("ep_a")) == "corrupt");
  BOOST_TEST(kind_of(store->endpoints()) == "corrupt");
  std::filesystem::remove_all(directory);
}

BOOST_AUTO_TEST_CASE(redis_keeps_everything_over_a_restart) {
  test::RedisServer server({"--appendonly", "yes", "--appendfsync", "always"});
  auto store = connect_redis(server.port(), "restart");
  const auto d1 = delivery("1", "ep_a", 1, 1);
  ok(store->put_endpoint(endpoint("ep_a", 1), false));
  ok(store->enqueue({d1, delivery("2", "ep_a", 2, 2)}));
  BOOST_REQUIRE(claim(*store, "w1", 3, 1).size() == 1u);
  ok(store->finish(d1, "w1", attempt(d1, 3, 500),
                   outcome(DeliveryState::pending, 10)));
  const auto version = ok(store->endpoints_version());

  server.stop();
  BOOST_TEST(!store->ping());
  server.start();
  BOOST_REQUIRE(test::wait_until_answers(*store));
  BOOST_TEST(ok(store->endpoint("ep_a"))->url == endpoint("ep_a", 1).url);
  BOOST_TEST(ok(store->endpoints_version()) == version);
  BOOST_TEST(ok(store->pending()) == 2u);
  BOOST_TEST(record(*store, d1.id).attempts.size() == 1u);
  BOOST_TEST((ids(claim(*store, "w1", 10)) == Ids{"msg_2", "msg_1"}));
}

BOOST_AUTO_TEST_CASE(redis_down_fails_quickly_and_recovers) {
  test::RedisServer server;
  RedisWebhookStore::Options options;
  options.port = server.port();
  options.ns = "down";
  options.timeout = 500ms;
  auto store = ok(RedisWebhookStore::connect(options));
  ok(store->enqueue({delivery("1", "ep_a", 1, 1)}));
  server.stop();

  const auto started = std::chrono::steady_clock::now();
  BOOST_TEST(kind_of(store->ping()) == "unavailable");
  BOOST_TEST(kind_of(store->put_endpoint(endpoint("ep_a", 1), false)) ==
             "unavailable");
  BOOST_TEST(kind_of(store->endpoints()) == "unavailable");
  BOOST_TEST(kind_of(store->enqueue({delivery("2", "ep_a", 1, 1)})) ==
             "unavailable");
  BOOST_TEST(kind_of(store->claim("w1", at(2), 60s, 10, 0)) == "unavailable");
  BOOST_TEST(kind_of(store->deliveries("ep_a", 10)) == "unavailable");
  const auto pending = store->pending();
  BOOST_REQUIRE(!pending);
  BOOST_TEST(kind_of(pending) == "unavailable");
  BOOST_TEST(pending.error().message.find("127.0.0.1:" +
                                          std::to_string(server.port())) !=
             std::string::npos);
  // generous: the machine is shared, but nothing waits for long
  BOOST_TEST((std::chrono::steady_clock::now() - started < 10s));

  server.start();
  BOOST_REQUIRE(test::wait_until_answers(*store));
  // without persistence the server came back empty; the store works again
  ok(store->enqueue({delivery("3", "ep_a", 3, 3)}));
  BOOST_TEST((ids(claim(*store, "w1", 5)) == Ids{"msg_3"}));
}

BOOST_AUTO_TEST_CASE(redis_never_shows_the_password) {
  test::RedisServer server({"--requirepass", "s3cret-pass"});
  RedisWebhookStore::Options options;
  options.port = server.port();
  options.password = "wrong-pass";
  const auto refused = RedisWebhookStore::connect(options);
  BOOST_REQUIRE(!refused);
  BOOST_TEST(kind_of(refused) == "invalid");
  BOOST_TEST(refused.error().message.find("wrong-pass") == std::string::npos);
  options.password = "s3cret-pass";
  auto store = ok(RedisWebhookStore::connect(options));
  ok(store->enqueue({delivery("1", "ep_a", 1, 1)}));
  BOOST_TEST((ids(claim(*store, "w1", 2)) == Ids{"msg_1"}));
}

BOOST_AUTO_TEST_CASE(redis_reports_undecodable_stored_data_as_corrupt) {
  const std::string ns = "garbled-" + std::to_string(::getpid());
  auto store = connect_redis(shared_redis().port(), ns);
  ok(store->put_endpoint(endpoint("ep_a", 1), false));
  const auto d1 = delivery("1", "ep_a", 1, 1);
  ok(store->enqueue({d1}));
  db::RedisConnection::Options options;
  options.port = shared_redis().port();
  db::RedisConnection raw(options);
  ok(raw.command({"HSET", ns + ":wh:ep:ep_a", "data", "not json"}));
  ok(raw.command({"RPUSH", ns + ":wh:a:" + d1.id, "not an attempt"}));
  BOOST_TEST(kind_of(store->endpoint("ep_a")) == "corrupt");
  BOOST_TEST(kind_of(store->endpoints()) == "corrupt");
  BOOST_TEST(kind_of(store->delivery(d1.id)) == "corrupt");
}

BOOST_AUTO_TEST_SUITE_END()
