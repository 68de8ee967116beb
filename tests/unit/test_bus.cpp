#include "CapturedLog.hpp"
#include "MetricValue.hpp"
#include "Wait.hpp"
#include "bus/Bus.hpp"
#include "metrics/Metrics.hpp"

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

namespace core = dovewarden::core;
namespace metrics = dovewarden::metrics;
using dovewarden::bus::Bus;
using dovewarden::bus::Subscriber;
using namespace std::chrono_literals;
using dovewarden::test::blocked;
using dovewarden::test::thread_id;
using dovewarden::test::wait_until;

namespace {

using Clock = std::chrono::steady_clock;

core::Event event_of(const std::string &type, std::int64_t n = 0) {
  core::Event event;
  event.message.type = type;
  event.message.set("n", n);
  event.source = "test";
  return event;
}

// Records what it receives; can be slowed down or held at a gate, and tells
// how many events reached it, held or not.
class Recorder : public Subscriber {
public:
  explicit Recorder(std::string name, std::chrono::milliseconds delay = 0ms)
      : m_name(std::move(name)), m_delay(delay) {}

  std::string name() const override { return m_name; }
  void handle(const core::Event &event) override {
    {
      std::unique_lock lock(m_mutex);
      m_arrived++;
      m_changed.notify_all();
      m_changed.wait(lock, [&] { return m_open; });
    }
    // a slow subscriber is what these tests are about
    if (m_delay.count() > 0)
      std::this_thread::sleep_for(m_delay);
    if (event.type() == "boom")
      throw std::runtime_error("boom");
    std::lock_guard lock(m_mutex);
    m_log.push_back(event.type() + ":" +
                    std::to_string(event.message.integer("n")));
    m_changed.notify_all();
  }
  std::chrono::milliseconds flush_interval() const override {
    return m_flush_interval;
  }
  bool flush_when_idle() const override { return m_flush_when_idle; }
  void flush() override {
    std::lock_guard lock(m_mutex);
    m_flushes++;
    m_flusher = thread_id();
  }
  void stop() override {
    std::lock_guard lock(m_mutex);
    m_log.push_back("stop");
    m_changed.notify_all();
  }

  void close_gate() {
    std::lock_guard lock(m_mutex);
    m_open = false;
  }
  void open_gate() {
    std::lock_guard lock(m_mutex);
    m_open = true;
    m_changed.notify_all();
  }
  // Waits until count events arrived. Returns false on timeout.
  bool wait_for(std::size_t count, std::chrono::milliseconds timeout = 5s) {
    std::unique_lock lock(m_mutex);
    return m_changed.wait_for(lock, timeout,
                              [&] { return m_log.size() >= count; });
  }
  // Waits until count events reached handle(), also those held at the gate.
  // Returns false on timeout.
  bool wait_for_arrivals(std::size_t count) {
    std::unique_lock lock(m_mutex);
    return m_changed.wait_for(lock, 5s, [&] { return m_arrived >= count; });
  }
  std::vector<std::string> log() const {
    std::lock_guard lock(m_mutex);
    return m_log;
  }
  int flushes() const {
    std::lock_guard lock(m_mutex);
    return m_flushes;
  }
  // Returns the thread that flushed last, 0 before a flush.
  pid_t flusher() const {
    std::lock_guard lock(m_mutex);
    return m_flusher;
  }
  std::chrono::milliseconds m_flush_interval{0};
  bool m_flush_when_idle = false;

private:
  std::string m_name;
  std::chrono::milliseconds m_delay;
  mutable std::mutex m_mutex;
  std::condition_variable m_changed;
  bool m_open = true;
  std::size_t m_arrived = 0;
  std::vector<std::string> m_log;
  int m_flushes = 0;
  pid_t m_flusher = 0;
};

// Returns the value of the metric line that starts with prefix, or -1.
double metric(const metrics::Metrics &metrics, const std::string &prefix) {
  return dovewarden::test::metric_value(metrics, prefix).value_or(-1);
}

} // namespace

BOOST_AUTO_TEST_SUITE(bus)

BOOST_AUTO_TEST_CASE(subscribers_get_what_their_filter_passes) {
  metrics::Metrics metrics;
  Bus bus(metrics);
  auto all = std::make_shared<Recorder>("all");
  auto messages = std::make_shared<Recorder>("messages");
  bus.subscribe("*", all);
  bus.subscribe("message.*", messages);
  bus.start();
  BOOST_TEST(bus.publish(event_of("message.new", 1)) == 2u);
  BOOST_TEST(bus.publish(event_of("flags.set", 2)) == 1u);
  bus.stop();
  BOOST_TEST(all->log() == (std::vector<std::string>{"message.new:1",
                                                     "flags.set:2", "stop"}));
  BOOST_TEST(messages->log() ==
             (std::vector<std::string>{"message.new:1", "stop"}));
  BOOST_TEST(metric(metrics,
                    "dovewarden_bus_delivered_total{subscriber=\"all\"}") == 2);
}

BOOST_AUTO_TEST_CASE(nothing_matching_returns_zero) {
  metrics::Metrics metrics;
  Bus bus(metrics);
  bus.subscribe("message.*", std::make_shared<Recorder>("messages"));
  bus.start();
  BOOST_TEST(bus.publish(event_of("user.login")) == 0u);
}

BOOST_AUTO_TEST_CASE(bad_globs_and_subscriptions_after_stop_throw) {
  metrics::Metrics metrics;
  Bus bus(metrics);
  BOOST_CHECK_THROW(bus.subscribe("", std::make_shared<Recorder>("x")),
                    std::invalid_argument);
  bus.start();
  bus.stop();
  BOOST_CHECK_THROW(bus.subscribe("*", std::make_shared<Recorder>("y")),
                    std::logic_error);
}

BOOST_AUTO_TEST_CASE(subscriptions_come_and_go_while_events_flow) {
  metrics::Metrics metrics;
  Bus bus(metrics);
  auto first = std::make_shared<Recorder>("first");
  const auto first_id = bus.subscribe("*", first);
  bus.start();
  BOOST_TEST(bus.publish(event_of("message.new", 1)) == 1u);
  auto late = std::make_shared<Recorder>("late");
  bus.subscribe("message.*", late);
  BOOST_TEST(bus.publish(event_of("message.new", 2)) == 2u);
  BOOST_TEST(late->wait_for(1));
  // unsubscribing drains what was queued, stops the subscriber, and joins
  first->close_gate();
  BOOST_TEST(bus.publish(event_of("flags.set", 3)) == 1u);
  // opened once unsubscribe() waits
  std::atomic<bool> unsubscribe_waited{false};
  std::thread opener([&, unsubscriber = thread_id()] {
    unsubscribe_waited = wait_until([&] { return blocked(unsubscriber); });
    first->open_gate();
  });
  BOOST_TEST(bus.unsubscribe(first_id));
  opener.join();
  BOOST_TEST(unsubscribe_waited);
  BOOST_TEST(first->log() ==
             (std::vector<std::string>{"message.new:1", "message.new:2",
                                       "flags.set:3", "stop"}));
  BOOST_TEST(!bus.unsubscribe(first_id));
  BOOST_TEST(bus.publish(event_of("message.new", 4)) == 1u);
  bus.stop();
  BOOST_TEST(late->log() == (std::vector<std::string>{
                                "message.new:2", "message.new:4", "stop"}));
}

BOOST_AUTO_TEST_CASE(publish_sync_waits_and_returns_the_failures) {
  metrics::Metrics metrics;
  Bus bus(metrics);
  auto slow = std::make_shared<Recorder>("slow", 100ms);
  auto other = std::make_shared<Recorder>("other");
  bus.subscribe("*", slow);
  bus.subscribe("*", other);
  bus.start();
  // handled by both before it returns, not merely queued
  BOOST_TEST(bus.publish_sync(event_of("message.new", 1)).empty());
  BOOST_TEST(slow->log() == (std::vector<std::string>{"message.new:1"}));
  auto errors = bus.publish_sync(event_of("boom"));
  std::sort(errors.begin(), errors.end());
  BOOST_TEST(errors == (std::vector<std::string>{"other: boom", "slow: boom"}),
             boost::test_tools::per_element());
  bus.stop();
}

BOOST_AUTO_TEST_CASE(publish_sync_reports_a_drop) {
  metrics::Metrics metrics;
  Bus bus(metrics);
  auto gated = std::make_shared<Recorder>("gated");
  Bus::Options options;
  options.queue_capacity = 1;
  options.overflow = Bus::Overflow::drop;
  bus.subscribe(std::string_view("*"), gated, options);
  bus.start();
  gated->close_gate();
  // the worker holds the first at the gate, the second fills the queue
  BOOST_TEST(bus.publish(event_of("a", 1)) == 1u);
  BOOST_REQUIRE(gated->wait_for_arrivals(1));
  BOOST_TEST(bus.publish(event_of("a", 2)) == 1u);
  const auto errors = bus.publish_sync(event_of("a", 3));
  BOOST_REQUIRE(errors.size() == 1u);
  BOOST_TEST(errors[0] == "gated: dropped, its queue is full");
  gated->open_gate();
  bus.stop();
}

BOOST_AUTO_TEST_CASE(a_slow_subscriber_does_not_delay_a_fast_one) {
  metrics::Metrics metrics;
  Bus bus(metrics);
  auto slow = std::make_shared<Recorder>("slow", 50ms);
  auto fast = std::make_shared<Recorder>("fast");
  bus.subscribe("*", slow);
  bus.subscribe("*", fast);
  bus.start();
  const auto start = Clock::now();
  for (int i = 0; i < 20; i++)
    bus.publish(event_of("message.new", i));
  BOOST_TEST(fast->wait_for(20, 2s));
  const auto took = Clock::now() - start;
  // the slow one needs a second for its 20 events
  BOOST_TEST((took < 500ms));
  BOOST_TEST(slow->log().size() < 20u);
  bus.stop();
  BOOST_TEST(slow->log().size() == 21u); // drained, then stopped
}

BOOST_AUTO_TEST_CASE(a_full_queue_blocks_publish_instead_of_dropping) {
  metrics::Metrics metrics;
  Bus bus(metrics);
  auto held = std::make_shared<Recorder>("held");
  held->close_gate();
  bus.subscribe("*", held, Bus::Options{2, Bus::Overflow::block});
  bus.start();
  std::atomic<int> published{0};
  std::atomic<pid_t> publisher_id{0};
  std::thread publisher([&] {
    publisher_id = thread_id();
    for (int i = 0; i < 6; i++) {
      bus.publish(event_of("message.new", i));
      published++;
    }
  });
  // one event in handle(), two queued, the fourth publish waits
  BOOST_TEST(wait_until(
      [&] { return published.load() == 3 && blocked(publisher_id); }));
  BOOST_TEST(published.load() == 3);
  BOOST_TEST(
      metric(metrics, "dovewarden_bus_queue_depth{subscriber=\"held\"}") == 2);
  // the wait goes on long enough to show in blocked_seconds_total
  std::this_thread::sleep_for(200ms);
  held->open_gate();
  publisher.join();
  BOOST_TEST(held->wait_for(6));
  bus.stop();
  const auto log = held->log();
  BOOST_REQUIRE_EQUAL(log.size(), 7u);
  for (int i = 0; i < 6; i++)
    BOOST_TEST(log[i] == "message.new:" + std::to_string(i));
  BOOST_TEST(
      metric(metrics,
             "dovewarden_bus_blocked_seconds_total{subscriber=\"held\"}") >
      0.1);
  BOOST_TEST(metric(metrics,
                    "dovewarden_bus_dropped_total{subscriber=\"held\"}") == 0);
  BOOST_TEST(
      metric(metrics, "dovewarden_bus_queue_depth{subscriber=\"held\"}") == 0);
}

BOOST_AUTO_TEST_CASE(events_taken_together_keep_their_room_until_handled) {
  metrics::Metrics metrics;
  Bus bus(metrics);
  auto held = std::make_shared<Recorder>("held");
  held->close_gate();
  bus.subscribe("*", held, Bus::Options{3, Bus::Overflow::block});
  // queued before start(): the worker takes all three at once, and holds
  // the first at the gate; the other two still fill the queue
  for (int i = 0; i < 3; i++)
    BOOST_TEST(bus.publish(event_of("a", i)) == 1u);
  bus.start();
  std::atomic<int> published{0};
  std::atomic<pid_t> publisher_id{0};
  std::thread publisher([&] {
    publisher_id = thread_id();
    for (int i = 3; i < 6; i++) {
      bus.publish(event_of("a", i));
      published++;
    }
  });
  BOOST_TEST(wait_until(
      [&] { return published.load() == 1 && blocked(publisher_id); }));
  BOOST_TEST(published.load() == 1);
  BOOST_TEST(
      metric(metrics, "dovewarden_bus_queue_depth{subscriber=\"held\"}") == 3);
  // starting on a taken event frees its room: the waiting publish goes on
  held->open_gate();
  publisher.join();
  bus.stop();
  BOOST_TEST(
      (held->log() == std::vector<std::string>{"a:0", "a:1", "a:2", "a:3",
                                               "a:4", "a:5", "stop"}));
  BOOST_TEST(metric(metrics,
                    "dovewarden_bus_dropped_total{subscriber=\"held\"}") == 0);
  BOOST_TEST(
      metric(metrics, "dovewarden_bus_queue_depth{subscriber=\"held\"}") == 0);
}

BOOST_AUTO_TEST_CASE(events_taken_together_count_as_queued_for_drops) {
  metrics::Metrics metrics;
  Bus bus(metrics);
  auto held = std::make_shared<Recorder>("lossy");
  held->close_gate();
  bus.subscribe("*", held, Bus::Options{3, Bus::Overflow::drop});
  for (int i = 0; i < 3; i++)
    BOOST_TEST(bus.publish(event_of("a", i)) == 1u);
  bus.start();
  BOOST_TEST(held->wait_for_arrivals(1)); // the worker holds a:0 at the gate
  std::size_t taken = 0;
  for (int i = 3; i < 6; i++)
    taken += bus.publish(event_of("a", i));
  BOOST_TEST(taken == 1u);
  held->open_gate();
  bus.stop();
  BOOST_TEST(metric(metrics,
                    "dovewarden_bus_dropped_total{subscriber=\"lossy\"}") == 2);
  BOOST_TEST((held->log() ==
              std::vector<std::string>{"a:0", "a:1", "a:2", "a:3", "stop"}));
}

BOOST_AUTO_TEST_CASE(many_publishers_lose_nothing_and_keep_their_order) {
  metrics::Metrics metrics;
  Bus bus(metrics);
  auto slow = std::make_shared<Recorder>("slow");
  auto fast = std::make_shared<Recorder>("fast");
  // small queues: the publishers wait for room again and again
  bus.subscribe("*", slow, Bus::Options{4, Bus::Overflow::block});
  bus.subscribe("*", fast, Bus::Options{2, Bus::Overflow::block});
  bus.start();
  constexpr int k_publishers = 3;
  constexpr int k_events = 2000;
  std::vector<std::thread> publishers;
  for (int p = 0; p < k_publishers; p++)
    publishers.emplace_back([&, p] {
      std::vector<std::shared_ptr<const core::Event>> batch;
      for (int i = 0; i < k_events; i++) {
        batch.push_back(std::make_shared<const core::Event>(
            event_of("p" + std::to_string(p), i)));
        if (batch.size() == 5 || i + 1 == k_events) {
          bus.publish(batch);
          batch.clear();
        }
      }
    });
  for (auto &publisher : publishers)
    publisher.join();
  bus.stop();
  for (const auto &recorder : {slow, fast}) {
    const auto log = recorder->log();
    BOOST_REQUIRE_EQUAL(log.size(), std::size_t{k_publishers * k_events + 1});
    std::vector<int> next(k_publishers, 0);
    for (std::size_t i = 0; i + 1 < log.size(); i++) {
      const auto p = static_cast<std::size_t>(log[i][1] - '0');
      BOOST_TEST(log[i] ==
                 "p" + std::to_string(p) + ":" + std::to_string(next[p]));
      next[p]++;
    }
  }
  BOOST_TEST(metric(metrics,
                    "dovewarden_bus_dropped_total{subscriber=\"fast\"}") == 0);
}

BOOST_AUTO_TEST_CASE(a_batch_arrives_in_order_where_each_event_is_wanted) {
  metrics::Metrics metrics;
  Bus bus(metrics);
  auto all = std::make_shared<Recorder>("all");
  auto flags = std::make_shared<Recorder>("flags");
  bus.subscribe("*", all);
  bus.subscribe("flags.*", flags);
  bus.start();
  std::vector<std::shared_ptr<const core::Event>> batch;
  for (const auto *type :
       {"message.new", "flags.set", "message.read", "flags.clear"})
    batch.push_back(std::make_shared<const core::Event>(
        event_of(type, static_cast<std::int64_t>(batch.size()))));
  const auto taken = bus.publish(batch);
  BOOST_TEST((taken == std::vector<std::size_t>{1, 2, 1, 2}));
  bus.stop();
  BOOST_TEST((all->log() == std::vector<std::string>{
                                "message.new:0", "flags.set:1",
                                "message.read:2", "flags.clear:3", "stop"}));
  BOOST_TEST((flags->log() == std::vector<std::string>{
                                  "flags.set:1", "flags.clear:3", "stop"}));
}

BOOST_AUTO_TEST_CASE(a_batch_waits_for_room_in_a_full_queue) {
  metrics::Metrics metrics;
  Bus bus(metrics);
  auto held = std::make_shared<Recorder>("held");
  held->close_gate();
  bus.subscribe("*", held, Bus::Options{2, Bus::Overflow::block});
  bus.start();
  bus.publish(event_of("a", 0));
  BOOST_TEST(held->wait_for_arrivals(1)); // the worker takes it into handle()
  std::vector<std::shared_ptr<const core::Event>> batch;
  for (int i = 1; i <= 4; i++)
    batch.push_back(std::make_shared<const core::Event>(event_of("a", i)));
  std::atomic<bool> published{false};
  std::atomic<pid_t> publisher_id{0};
  std::thread publisher([&] {
    publisher_id = thread_id();
    bus.publish(batch);
    published = true;
  });
  // two of the batch queued, and the publisher waits for room for the rest
  BOOST_TEST(wait_until([&] {
    return metric(metrics, "dovewarden_bus_queue_depth{subscriber=\"held\"}") ==
               2 &&
           blocked(publisher_id);
  }));
  BOOST_TEST(!published.load());
  BOOST_TEST(
      metric(metrics, "dovewarden_bus_queue_depth{subscriber=\"held\"}") == 2);
  held->open_gate();
  publisher.join();
  bus.stop();
  BOOST_TEST((held->log() == std::vector<std::string>{"a:0", "a:1", "a:2",
                                                      "a:3", "a:4", "stop"}));
  BOOST_TEST(metric(metrics,
                    "dovewarden_bus_dropped_total{subscriber=\"held\"}") == 0);
}

BOOST_AUTO_TEST_CASE(a_batch_beyond_room_is_dropped_and_counted) {
  metrics::Metrics metrics;
  Bus bus(metrics);
  auto held = std::make_shared<Recorder>("lossy");
  held->close_gate();
  bus.subscribe("*", held, Bus::Options{2, Bus::Overflow::drop});
  bus.start();
  bus.publish(event_of("a", 0));
  BOOST_TEST(held->wait_for_arrivals(1)); // the worker takes it into handle()
  std::vector<std::shared_ptr<const core::Event>> batch;
  for (int i = 1; i <= 5; i++)
    batch.push_back(std::make_shared<const core::Event>(event_of("a", i)));
  dovewarden::test::CapturedLog log;
  const auto taken = bus.publish(batch);
  BOOST_TEST((taken == std::vector<std::size_t>{1, 1, 0, 0, 0}));
  BOOST_TEST(log.take() == "warn bus: lossy: queue full (2 events); dropped 3 "
                           "event(s) since the last report, counted in "
                           "dovewarden_bus_dropped_total\n");
  held->open_gate();
  bus.stop();
  BOOST_TEST(metric(metrics,
                    "dovewarden_bus_dropped_total{subscriber=\"lossy\"}") == 3);
  BOOST_TEST(
      (held->log() == std::vector<std::string>{"a:0", "a:1", "a:2", "stop"}));
}

BOOST_AUTO_TEST_CASE(drop_policy_counts_what_it_drops) {
  metrics::Metrics metrics;
  Bus bus(metrics);
  auto held = std::make_shared<Recorder>("lossy");
  held->close_gate();
  bus.subscribe("*", held, Bus::Options{1, Bus::Overflow::drop});
  bus.start();
  bus.publish(event_of("a", 0));
  BOOST_TEST(held->wait_for(0));
  BOOST_TEST(held->wait_for_arrivals(1)); // the worker takes it into handle()
  std::size_t taken = 0;
  dovewarden::test::CapturedLog log;
  for (int i = 1; i <= 5; i++)
    taken += bus.publish(event_of("a", i));
  BOOST_TEST(taken == 1u);
  // the first drop is logged; the next ones wait for a minute to pass
  BOOST_TEST(log.take() == "warn bus: lossy: queue full (1 events); dropped 1 "
                           "event(s) since the last report, counted in "
                           "dovewarden_bus_dropped_total\n");
  held->open_gate();
  bus.stop();
  BOOST_TEST(metric(metrics,
                    "dovewarden_bus_dropped_total{subscriber=\"lossy\"}") == 4);
  BOOST_TEST(held->log().size() == 3u);
}

BOOST_AUTO_TEST_CASE(stop_drains_every_queue_then_stops_subscribers) {
  metrics::Metrics metrics;
  Bus bus(metrics);
  auto a = std::make_shared<Recorder>("a", 1ms);
  auto b = std::make_shared<Recorder>("b");
  bus.subscribe("*", a);
  bus.subscribe("*", b);
  bus.start();
  for (int i = 0; i < 100; i++)
    bus.publish(event_of("message.new", i));
  bus.stop();
  for (const auto &recorder : {a, b}) {
    const auto log = recorder->log();
    BOOST_REQUIRE_EQUAL(log.size(), 101u);
    BOOST_TEST(log[99] == "message.new:99");
    BOOST_TEST(log.back() == "stop");
    BOOST_TEST(recorder->flushes() == 1);
  }
  bus.stop(); // idempotent
  BOOST_TEST(bus.publish(event_of("message.new")) == 0u);
}

BOOST_AUTO_TEST_CASE(failures_are_counted_and_do_not_stop_the_worker) {
  metrics::Metrics metrics;
  Bus bus(metrics);
  auto recorder = std::make_shared<Recorder>("flaky");
  bus.subscribe("*", recorder);
  bus.start();
  bus.publish(event_of("boom"));
  bus.publish(event_of("ok", 1));
  BOOST_TEST(recorder->wait_for(1));
  bus.stop();
  BOOST_TEST(recorder->log().front() == "ok:1");
  BOOST_TEST(metric(metrics,
                    "dovewarden_bus_failed_total{subscriber=\"flaky\"}") == 1);
  BOOST_TEST(
      metric(metrics, "dovewarden_bus_delivered_total{subscriber=\"flaky\"}") ==
      1);
}

BOOST_AUTO_TEST_CASE(flush_runs_on_the_subscribers_interval) {
  metrics::Metrics metrics;
  Bus bus(metrics);
  auto recorder = std::make_shared<Recorder>("timed");
  recorder->m_flush_interval = 20ms;
  bus.subscribe("*", recorder);
  bus.start();
  // three intervals of 20 ms pass well within 200 ms
  wait_until([&] { return recorder->flushes() >= 3; }, 200ms);
  BOOST_TEST(recorder->flushes() >= 3);
  bus.stop();
}

BOOST_AUTO_TEST_CASE(flush_when_idle_does_not_wait_for_the_timer) {
  metrics::Metrics metrics;
  Bus bus(metrics);
  auto eager = std::make_shared<Recorder>("eager");
  eager->m_flush_interval = 1h;
  eager->m_flush_when_idle = true;
  auto timed = std::make_shared<Recorder>("timed");
  timed->m_flush_interval = 1h;
  bus.subscribe("*", eager);
  bus.subscribe("*", timed);
  bus.start();
  bus.publish(event_of("a"));
  BOOST_TEST(eager->wait_for(1));
  BOOST_TEST(timed->wait_for(1));
  BOOST_REQUIRE(wait_until([&] { return eager->flushes() > 0; }));
  // no other flush is on its way once the subscriber waits for events
  BOOST_REQUIRE(wait_until([&] { return blocked(eager->flusher()); }));
  BOOST_TEST(eager->flushes() == 1);
  BOOST_TEST(timed->flushes() == 0);
  bus.stop();
}

BOOST_AUTO_TEST_CASE(flush_when_idle_batches_what_queued_meanwhile) {
  metrics::Metrics metrics;
  Bus bus(metrics);
  auto eager = std::make_shared<Recorder>("eager");
  eager->m_flush_interval = 1h;
  eager->m_flush_when_idle = true;
  bus.subscribe("*", eager);
  bus.start();
  eager->close_gate();
  bus.publish(event_of("a", 1)); // held at the gate while the rest queue
  for (int i = 2; i <= 5; i++)
    bus.publish(event_of("a", i));
  eager->open_gate();
  BOOST_TEST(eager->wait_for(5));
  BOOST_REQUIRE(wait_until([&] { return eager->flushes() > 0; }));
  // no other flush is on its way once the subscriber waits for events
  BOOST_REQUIRE(wait_until([&] { return blocked(eager->flusher()); }));
  BOOST_TEST(eager->flushes() == 1);
  bus.stop();
}

BOOST_AUTO_TEST_SUITE_END()
