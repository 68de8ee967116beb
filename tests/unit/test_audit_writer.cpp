#include "AuditWriterFixture.hpp"
#include "MetricValue.hpp"
#include "Wait.hpp"
#include "audit/AuditWriter.hpp"
#include "audit/Chain.hpp"
#include "bus/Bus.hpp"

#include <boost/test/unit_test.hpp>
#include <nlohmann/json.hpp>

#include <memory>
#include <string>
#include <vector>

using dovewarden::audit::AuditWriter;
using dovewarden::audit::Record;
using dovewarden::core::Event;
using dovewarden::test::plugin_event;
using dovewarden::test::wait_until;

namespace {

struct WriterFixture : dovewarden::test::AuditFixture {
  AuditWriter::Options options() {
    AuditWriter::Options o;
    o.selection = "message.*,events.lost";
    return o;
  }
  std::unique_ptr<AuditWriter> writer(AuditWriter::Options o) {
    return std::make_unique<AuditWriter>(store, sign(), audit_metrics,
                                         std::move(o));
  }
  std::unique_ptr<AuditWriter> writer() { return writer(options()); }

  std::vector<std::uint64_t> event_seqs() const {
    std::vector<std::uint64_t> out;
    for (const auto &record : store.records())
      out.push_back(record.event_seq);
    return out;
  }
  double metric(const std::string &line) const {
    return dovewarden::test::metric_value(metrics, line).value_or(-1);
  }
};

nlohmann::json details(const Record &record) {
  return nlohmann::json::parse(record.details);
}

Event pipeline_lost(const std::string &inst, std::uint64_t after,
                    std::uint64_t next) {
  auto lost = Event::internal("events.lost");
  lost.message.set("svc", std::string("imap"));
  lost.message.set("pid", std::uint64_t{4242});
  lost.message.set("inst", inst);
  lost.message.set("lost", next - after - 1);
  lost.message.set("after_seq", after);
  lost.message.set("next_seq", next);
  return lost;
}

} // namespace

BOOST_FIXTURE_TEST_SUITE(audit_writer, WriterFixture)

BOOST_AUTO_TEST_CASE(every_series_exists_from_the_start) {
  auto w = writer();
  for (const char *line :
       {"dovewarden_audit_records_total", "dovewarden_audit_chain_head",
        "dovewarden_audit_gaps_total", "dovewarden_audit_removed_total",
        "dovewarden_audit_checkpoint_age_seconds",
        "dovewarden_audit_batch_records_count",
        "dovewarden_audit_write_seconds_count",
        "dovewarden_audit_retention_runs_total{result=\"ok\"}",
        "dovewarden_audit_retention_runs_total{result=\"failed\"}"}) {
    BOOST_TEST_CONTEXT(line) { BOOST_TEST(metric(line) == 0); }
  }
}

BOOST_AUTO_TEST_CASE(selected_events_become_linked_records) {
  auto w = writer();
  w->handle(plugin_event("a", 1));
  w->handle(plugin_event("a", 2, "imap_command_finished"));
  w->handle(plugin_event("a", 3, "message.new"));
  w->flush();
  const auto records = store.records();
  BOOST_REQUIRE(records.size() == 2u);
  BOOST_TEST(records[0].seq == 1u);
  BOOST_TEST(records[0].prev_hash == dovewarden::audit::k_genesis_hash);
  BOOST_TEST(records[0].hash ==
             dovewarden::audit::record_hash(records[0].prev_hash, records[0]));
  BOOST_TEST(records[1].seq == 2u);
  BOOST_TEST(records[1].prev_hash == records[0].hash);
  BOOST_TEST(records[1].operation == "message.new");
  BOOST_TEST(metric("dovewarden_audit_records_total") == 2);
  BOOST_TEST(metric("dovewarden_audit_chain_head") == 2);
  BOOST_TEST(metric("dovewarden_audit_batch_records_count") == 1);
  // the unselected event moved the mark all the same
  BOOST_TEST(store.marks().at("a").last_seq == 3u);
}

BOOST_AUTO_TEST_CASE(reads_are_recorded_only_when_asked_for) {
  auto w = writer();
  w->handle(plugin_event("a", 1, "message.open"));
  w->flush();
  BOOST_TEST(store.records().empty());

  auto o = options();
  o.selection += ",message.open";
  auto reads = writer(o);
  reads->handle(plugin_event("a", 2, "message.open"));
  reads->flush();
  BOOST_REQUIRE(store.records().size() == 1u);
  BOOST_TEST(store.records()[0].operation == "message.open");
}

BOOST_AUTO_TEST_CASE(subscription_takes_the_selection_and_plugin_events) {
  auto w = writer();
  const auto filter = w->filter();
  BOOST_TEST(filter->matches(plugin_event("a", 1)));
  BOOST_TEST(filter->matches(plugin_event("a", 2, "imap_command_finished")));
  BOOST_TEST(filter->matches(Event::internal("events.lost")));
  // an event_exporter event carries no seq: neither picked nor watched
  Event exported;
  exported.source = "http";
  exported.message.type = "imap_command_finished";
  exported.message.set("user", std::string("alice"));
  BOOST_TEST(!filter->matches(exported));
  BOOST_TEST(!filter->matches(Event::internal("daemon.started")));
}

BOOST_AUTO_TEST_CASE(group_commit_by_size) {
  auto o = options();
  o.batch_max = 3;
  auto w = writer(o);
  for (std::uint64_t seq = 1; seq <= 7; ++seq)
    w->handle(plugin_event("a", seq));
  BOOST_TEST(store.appends() == (std::vector<std::size_t>{3, 3}));
  BOOST_TEST(w->pending() == 1u);
  w->flush();
  BOOST_TEST(store.appends() == (std::vector<std::size_t>{3, 3, 1}));
  BOOST_TEST(event_seqs() == (std::vector<std::uint64_t>{1, 2, 3, 4, 5, 6, 7}));
}

BOOST_AUTO_TEST_CASE(group_commit_by_time) {
  auto o = options();
  o.batch_interval = std::chrono::milliseconds(50);
  auto w = writer(o);
  BOOST_TEST(w->flush_interval().count() == 50);
  BOOST_TEST(w->flush_when_idle());
  w->handle(plugin_event("a", 1));
  w->handle(plugin_event("a", 2));
  BOOST_TEST(store.appends().empty());
  w->flush();
  BOOST_TEST(store.appends() == (std::vector<std::size_t>{2}));
}

BOOST_AUTO_TEST_CASE(bus_flushes_on_its_timer) {
  dovewarden::bus::Bus bus(metrics);
  auto o = options();
  o.batch_interval = std::chrono::milliseconds(20);
  std::shared_ptr<AuditWriter> w = writer(o);
  bus.subscribe(w->filter(), w, {100, dovewarden::bus::Bus::Overflow::drop});
  bus.start();
  bus.publish(plugin_event("a", 1));
  BOOST_TEST(wait_until([&] { return store.records().size() == 1u; }));
  bus.stop();
}

BOOST_AUTO_TEST_CASE(replay_records_nothing_twice) {
  {
    auto w = writer();
    for (std::uint64_t seq = 1; seq <= 3; ++seq)
      w->handle(plugin_event("a", seq));
    w->flush();
  }
  auto w = writer();
  for (std::uint64_t seq = 1; seq <= 4; ++seq)
    w->handle(plugin_event("a", seq));
  // the same event twice within one batch
  w->handle(plugin_event("a", 5));
  w->handle(plugin_event("a", 5));
  w->flush();
  BOOST_TEST(event_seqs() == (std::vector<std::uint64_t>{1, 2, 3, 4, 5}));
  BOOST_TEST(store.records().back().seq == 5u);
  BOOST_TEST(metric("dovewarden_audit_gaps_total") == 0);
}

BOOST_AUTO_TEST_CASE(restart_finds_the_gap_in_the_stored_marks) {
  {
    auto w = writer();
    for (std::uint64_t seq = 1; seq <= 3; ++seq)
      w->handle(plugin_event("a", seq));
    w->flush();
  }
  // the events 4 to 6 reached a writer that died before it wrote them
  auto w = writer();
  w->handle(plugin_event("a", 7));
  w->flush();
  const auto records = store.records();
  BOOST_REQUIRE(records.size() == 5u);
  const auto &gap = records[3];
  BOOST_TEST(gap.operation == "events.lost");
  BOOST_TEST(gap.outcome == "lost");
  BOOST_TEST(gap.actor == "daemon");
  BOOST_TEST(gap.user == "alice");
  BOOST_TEST(gap.inst.empty());
  const auto d = details(gap);
  BOOST_TEST(d.at("inst") == "a");
  BOOST_TEST(d.at("pid") == 4242);
  BOOST_TEST(d.at("svc") == "imap");
  BOOST_TEST(d.at("from") == 4);
  BOOST_TEST(d.at("to") == 6);
  BOOST_TEST(d.at("reason") == "not received by the audit log");
  BOOST_TEST(records[4].event_seq == 7u);
  BOOST_TEST(metric("dovewarden_audit_gaps_total") == 1);
}

BOOST_AUTO_TEST_CASE(marks_loaded_late_still_reveal_the_gap) {
  {
    auto w = writer();
    w->handle(plugin_event("a", 1));
    w->flush();
  }
  store.failing = true;
  auto w = writer();
  w->handle(plugin_event("a", 4));
  w->flush();
  store.failing = false;
  BOOST_TEST(wait_until([&] {
    w->flush();
    return store.records().size() == 3u;
  }));
  const auto records = store.records();
  BOOST_TEST(records[1].operation == "events.lost");
  BOOST_TEST(details(records[1]).at("from") == 2);
  BOOST_TEST(details(records[1]).at("to") == 3);
  BOOST_TEST(records[2].event_seq == 4u);
}

BOOST_AUTO_TEST_CASE(marks_loaded_late_are_not_moved_back_by_a_replay) {
  {
    auto w = writer();
    for (std::uint64_t seq = 1; seq <= 5; ++seq)
      w->handle(plugin_event("a", seq));
    w->flush();
  }
  store.failing = true;
  auto w = writer();
  w->handle(plugin_event("a", 4)); // recorded already
  store.failing = false;
  BOOST_TEST(wait_until([&] {
    w->flush();
    return store.writable();
  }));
  w->handle(plugin_event("a", 7));
  w->flush();
  const auto records = store.records();
  BOOST_REQUIRE(records.size() == 7u);
  BOOST_TEST(records[5].operation == "events.lost");
  BOOST_TEST(details(records[5]).at("from") == 6);
  BOOST_TEST(details(records[5]).at("to") == 6);
}

BOOST_AUTO_TEST_CASE(pipeline_loss_is_recorded_once) {
  auto w = writer();
  w->handle(plugin_event("a", 1));
  w->handle(pipeline_lost("a", 1, 5));
  w->handle(plugin_event("a", 5));
  w->flush();
  const auto records = store.records();
  BOOST_REQUIRE(records.size() == 3u);
  BOOST_TEST(records[1].operation == "events.lost");
  BOOST_TEST(details(records[1]).at("after_seq") == 1);
  BOOST_TEST(records[2].event_seq == 5u);
  BOOST_TEST(metric("dovewarden_audit_gaps_total") == 0);
  // nor again after a restart
  auto next = writer();
  next->handle(plugin_event("a", 6));
  next->flush();
  BOOST_TEST(store.records().size() == 4u);
}

BOOST_AUTO_TEST_CASE(bus_overflow_becomes_a_gap_record) {
  dovewarden::bus::Bus bus(metrics);
  std::shared_ptr<AuditWriter> w = writer();
  bus.subscribe(w->filter(), w, {2, dovewarden::bus::Bus::Overflow::drop});
  // before start() nothing empties the queue: 3 to 5 are dropped
  for (std::uint64_t seq = 1; seq <= 5; ++seq)
    bus.publish(plugin_event("a", seq));
  bus.start();
  BOOST_TEST(wait_until([&] { return store.records().size() == 2u; }));
  bus.publish(plugin_event("a", 6));
  bus.stop();
  const auto records = store.records();
  BOOST_REQUIRE(records.size() == 4u);
  BOOST_TEST(records[0].event_seq == 1u);
  BOOST_TEST(records[1].event_seq == 2u);
  BOOST_TEST(records[2].operation == "events.lost");
  BOOST_TEST(details(records[2]).at("from") == 3);
  BOOST_TEST(details(records[2]).at("to") == 5);
  BOOST_TEST(records[3].event_seq == 6u);
}

BOOST_AUTO_TEST_CASE(store_down_keeps_the_batch_until_it_returns) {
  auto w = writer();
  store.failing = true;
  for (std::uint64_t seq = 1; seq <= 3; ++seq)
    w->handle(plugin_event("a", seq));
  w->flush();
  BOOST_TEST(!store.writable());
  BOOST_TEST(w->pending() == 3u);
  store.failing = false;
  BOOST_TEST(wait_until([&] {
    w->flush();
    return store.records().size() == 3u;
  }));
  BOOST_TEST(store.writable());
  BOOST_TEST(event_seqs() == (std::vector<std::uint64_t>{1, 2, 3}));
  BOOST_TEST(metric("dovewarden_audit_gaps_total") == 0);
}

BOOST_AUTO_TEST_CASE(records_beyond_the_bound_become_a_gap_record) {
  auto o = options();
  o.max_pending = 3;
  auto w = writer(o);
  store.failing = true;
  w->flush();
  for (std::uint64_t seq = 1; seq <= 5; ++seq)
    w->handle(plugin_event("a", seq));
  BOOST_TEST(w->pending() == 3u);
  store.failing = false;
  BOOST_TEST(wait_until([&] {
    w->flush();
    return store.records().size() == 4u;
  }));
  const auto records = store.records();
  BOOST_TEST(records[0].operation == "events.lost");
  const auto d = details(records[0]);
  BOOST_TEST(d.at("from") == 1);
  BOOST_TEST(d.at("to") == 2);
  BOOST_TEST(d.at("records") == 2);
  BOOST_TEST(d.at("reason") == "not kept while the audit store failed");
  BOOST_TEST(records[1].event_seq == 3u);
  BOOST_TEST(records[3].event_seq == 5u);
  BOOST_TEST(metric("dovewarden_audit_gaps_total") == 1);
}

BOOST_AUTO_TEST_CASE(checkpoint_after_n_records) {
  auto o = options();
  o.batch_max = 1;
  o.checkpoint_records = 2;
  auto w = writer(o);
  for (std::uint64_t seq = 1; seq <= 5; ++seq)
    w->handle(plugin_event("a", seq));
  const auto checkpoints = store.all_checkpoints();
  BOOST_REQUIRE(checkpoints.size() == 2u);
  BOOST_TEST(checkpoints[0].size == 2u);
  BOOST_TEST(checkpoints[1].size == 4u);
  BOOST_TEST(checkpoints[1].hash == store.records()[3].hash);
  BOOST_TEST(checkpoints[1].origin == store.chain());
}

BOOST_AUTO_TEST_CASE(checkpoint_after_t_if_the_head_moved) {
  auto o = options();
  o.checkpoint_interval = std::chrono::milliseconds(20);
  auto w = writer(o);
  w->handle(plugin_event("a", 1));
  BOOST_TEST(wait_until([&] {
    w->flush();
    return store.all_checkpoints().size() == 1u;
  }));
  BOOST_TEST(store.all_checkpoints()[0].size == 1u);
  // the head stays: no other checkpoint, however long
  const auto signed_before = signed_count.load();
  const auto until =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(60);
  while (std::chrono::steady_clock::now() < until)
    w->flush();
  BOOST_TEST(signed_count.load() == signed_before);
  BOOST_TEST(store.all_checkpoints().size() == 1u);
}

BOOST_AUTO_TEST_SUITE_END()
