#include "MetricValue.hpp"
#include "bus/Bus.hpp"
#include "metrics/Metrics.hpp"
#include "pipeline/Pipeline.hpp"
#include "sinks/JsonLine.hpp"

#include <boost/test/unit_test.hpp>

#include <limits>
#include <mutex>

namespace dw = dovewarden;

namespace {

// Keeps every event it is handed, as JSON lines.
class Collector : public dw::bus::Subscriber {
public:
  std::string name() const override { return "collector"; }
  void handle(const dw::core::Event &event) override {
    std::lock_guard lock(m_mutex);
    m_lines.push_back(dw::sinks::to_json_line(event));
  }
  std::vector<std::string> lines() const {
    std::lock_guard lock(m_mutex);
    return m_lines;
  }

private:
  mutable std::mutex m_mutex;
  std::vector<std::string> m_lines;
};

dw::core::Event plugin_event(const std::string &type, std::int64_t seq,
                             const std::string &svc = "imap") {
  dw::core::Event event;
  event.message.type = type;
  event.message.set("host", std::string("mx1"));
  event.message.set("svc", svc);
  event.message.set("pid", std::int64_t{42});
  event.message.set("inst", std::string("00000000deadbeef"));
  event.message.set("seq", seq);
  event.source = "zmq";
  return event;
}

double metric(const dw::metrics::Metrics &metrics, const std::string &line) {
  return dw::test::metric_value(metrics, line).value_or(-1);
}

// A Pipeline onto a started bus where a Collector takes the types asked for.
struct Collected {
  explicit Collected(const std::string &types) {
    bus.subscribe(types, collector);
    bus.start();
  }
  // Stops the bus and returns what the collector took.
  std::vector<std::string> lines() {
    bus.stop();
    return collector->lines();
  }

  dw::metrics::Metrics metrics;
  dw::bus::Bus bus{metrics};
  std::shared_ptr<Collector> collector = std::make_shared<Collector>();
  dw::pipeline::Pipeline pipeline{bus, metrics};
};

} // namespace

BOOST_AUTO_TEST_SUITE(pipeline)

BOOST_AUTO_TEST_CASE(a_gap_publishes_events_lost_before_the_event) {
  dw::metrics::Metrics metrics;
  dw::bus::Bus bus(metrics);
  auto collector = std::make_shared<Collector>();
  bus.subscribe("*", collector);
  bus.start();
  dw::pipeline::Pipeline pipeline(bus, metrics);
  BOOST_TEST(pipeline.submit(plugin_event("message.new", 1)) == 1u);
  BOOST_TEST(pipeline.submit(plugin_event("message.new", 5)) == 1u);
  bus.stop();

  const auto lines = collector->lines();
  BOOST_REQUIRE_EQUAL(lines.size(), 3u);
  // ts first, as on plugin events; its value varies
  const auto lost = lines[1];
  BOOST_TEST(lost.rfind(R"({"type":"events.lost","ts":)", 0) == 0);
  BOOST_TEST(
      lost.substr(lost.find(",\"host\"")) ==
      R"(,"host":"mx1","svc":"imap","pid":42,"inst":"00000000deadbeef","lost":3,"after_seq":1,"next_seq":5})");
  BOOST_TEST(lines[2].find(R"("seq":5)") != std::string::npos);
  BOOST_TEST(metric(metrics, R"(dovewarden_events_lost_total{svc="imap"})") ==
             3);
  BOOST_TEST(
      metric(
          metrics,
          R"(dovewarden_events_received_total{source="zmq",type="message.new"})") ==
      2);
  BOOST_TEST(
      metric(
          metrics,
          R"(dovewarden_events_received_total{source="daemon",type="events.lost"})") ==
      1);
}

BOOST_AUTO_TEST_CASE(a_gap_inside_a_batch_goes_right_before_its_event) {
  dw::metrics::Metrics metrics;
  dw::bus::Bus bus(metrics);
  auto collector = std::make_shared<Collector>();
  bus.subscribe("*", collector);
  bus.subscribe("flags.*", std::make_shared<Collector>());
  bus.start();
  dw::pipeline::Pipeline pipeline(bus, metrics);
  std::vector<dw::core::Event> batch;
  batch.push_back(plugin_event("message.new", 1));
  batch.push_back(plugin_event("message.new", 2));
  batch.push_back(plugin_event("message.new", 4));
  batch.push_back(plugin_event("flags.set", 5));
  pipeline.submit(std::move(batch));
  bus.stop();

  const auto lines = collector->lines();
  BOOST_REQUIRE_EQUAL(lines.size(), 5u);
  BOOST_TEST(lines[1].find(R"("seq":2)") != std::string::npos);
  BOOST_TEST(lines[2].rfind(R"({"type":"events.lost",)", 0) == 0);
  BOOST_TEST(lines[2].find(R"("after_seq":2,"next_seq":4)") !=
             std::string::npos);
  BOOST_TEST(lines[3].find(R"("seq":4)") != std::string::npos);
  BOOST_TEST(lines[4].rfind(R"({"type":"flags.set",)", 0) == 0);
  BOOST_TEST(
      metric(
          metrics,
          R"(dovewarden_events_received_total{source="zmq",type="message.new"})") ==
      3);
  BOOST_TEST(metric(metrics, R"(dovewarden_events_lost_total{svc="imap"})") ==
             1);
}

BOOST_AUTO_TEST_CASE(a_forged_top_seq_is_a_counted_reset_not_a_loss) {
  Collected collected("events.lost");
  auto &pipeline = collected.pipeline;
  pipeline.submit(plugin_event("message.new", 1));
  pipeline.submit(plugin_event("message.new", 2));
  auto forged = plugin_event("message.new", 0);
  forged.message.set("seq", std::numeric_limits<std::uint64_t>::max());
  pipeline.submit(std::move(forged));
  // the real process goes on, then really loses two
  pipeline.submit(plugin_event("message.new", 3));
  pipeline.submit(plugin_event("message.new", 4));
  pipeline.submit(plugin_event("message.new", 7));

  const auto lost = collected.lines();
  BOOST_REQUIRE_EQUAL(lost.size(), 1u);
  BOOST_TEST(lost[0].find(R"("lost":2,"after_seq":4,"next_seq":7)") !=
             std::string::npos);
  const auto &metrics = collected.metrics;
  BOOST_TEST(metric(metrics, R"(dovewarden_events_lost_total{svc="imap"})") ==
             2);
  // the forged seq and the step back from it
  BOOST_TEST(metric(metrics,
                    R"(dovewarden_events_seq_resets_total{svc="imap"})") == 2);
}

BOOST_AUTO_TEST_CASE(events_lost_names_the_users_either_side_of_the_gap) {
  Collected collected("events.lost");
  auto &pipeline = collected.pipeline;
  const auto of = [](std::int64_t seq, const std::string &user) {
    auto event = plugin_event("message.new", seq, "lmtp");
    event.message.set("user", user);
    return event;
  };
  pipeline.submit(of(1, "alice"));
  pipeline.submit(of(3, "alice")); // one user: an imap process
  pipeline.submit(of(5, "bob"));   // lmtp: both neighbours

  const auto lines = collected.lines();
  BOOST_REQUIRE_EQUAL(lines.size(), 2u);
  BOOST_TEST(lines[0].find(R"("users":["alice"])") != std::string::npos,
             lines[0]);
  BOOST_TEST(lines[1].find(R"("users":["alice","bob"])") != std::string::npos,
             lines[1]);
}

BOOST_AUTO_TEST_CASE(events_nobody_wants_in_a_batch_are_counted_as_filtered) {
  dw::metrics::Metrics metrics;
  dw::bus::Bus bus(metrics);
  bus.subscribe("flags.*", std::make_shared<Collector>());
  bus.start();
  dw::pipeline::Pipeline pipeline(bus, metrics);
  std::vector<dw::core::Event> batch;
  batch.push_back(plugin_event("message.new", 1));
  batch.push_back(plugin_event("flags.set", 2));
  batch.push_back(plugin_event("message.read", 3));
  pipeline.submit(std::move(batch));
  BOOST_TEST(metric(metrics, "dovewarden_events_filtered_total") == 2);
}

BOOST_AUTO_TEST_CASE(events_nobody_wants_are_counted_as_filtered) {
  dw::metrics::Metrics metrics;
  dw::bus::Bus bus(metrics);
  bus.subscribe("flags.*", std::make_shared<Collector>());
  bus.start();
  dw::pipeline::Pipeline pipeline(bus, metrics);
  BOOST_TEST(pipeline.submit(plugin_event("message.new", 1)) == 0u);
  BOOST_TEST(metric(metrics, "dovewarden_events_filtered_total") == 1);
}

BOOST_AUTO_TEST_CASE(rejects_are_counted_by_reason) {
  dw::metrics::Metrics metrics;
  dw::bus::Bus bus(metrics);
  dw::pipeline::Pipeline pipeline(bus, metrics);
  pipeline.reject("zmq", dw::wire::Reject::not_msgpack);
  pipeline.reject("zmq", dw::wire::Reject::not_msgpack);
  BOOST_TEST(
      metric(
          metrics,
          R"(dovewarden_events_rejected_total{reason="not_msgpack",source="zmq"})") ==
      2);
}

BOOST_AUTO_TEST_CASE(label_values_from_the_wire_are_bounded) {
  dw::metrics::Metrics metrics;
  dw::bus::Bus bus(metrics);
  bus.subscribe("*", std::make_shared<Collector>());
  bus.start();
  dw::pipeline::Pipeline pipeline(bus, metrics);
  pipeline.submit(plugin_event("made.up.type", 1));
  BOOST_TEST(
      metric(
          metrics,
          R"(dovewarden_events_received_total{source="zmq",type="other"})") ==
      1);
  // counted again through the remembered (source, type) pair
  pipeline.submit(plugin_event("made.up.type", 2));
  pipeline.submit(plugin_event("another.made.up.type", 3));
  BOOST_TEST(
      metric(
          metrics,
          R"(dovewarden_events_received_total{source="zmq",type="other"})") ==
      3);
  // 16 distinct services get their own label, the 17th is "other"
  for (int i = 0; i < 17; i++) {
    auto first = plugin_event("message.new", 1, "svc" + std::to_string(i));
    auto second = plugin_event("message.new", 3, "svc" + std::to_string(i));
    first.message.set("inst", "inst" + std::to_string(i));
    second.message.set("inst", "inst" + std::to_string(i));
    pipeline.submit(first);
    pipeline.submit(second);
  }
  BOOST_TEST(metric(metrics, R"(dovewarden_events_lost_total{svc="svc15"})") ==
             1);
  BOOST_TEST(metric(metrics, R"(dovewarden_events_lost_total{svc="svc16"})") ==
             -1);
  BOOST_TEST(metric(metrics, R"(dovewarden_events_lost_total{svc="other"})") ==
             1);
  bus.stop();
}

BOOST_AUTO_TEST_SUITE_END()
