#include "AuditWriterFixture.hpp"
#include "MetricValue.hpp"
#include "Wait.hpp"
#include "audit/AuditWriter.hpp"
#include "audit/Retention.hpp"
#include "util/Time.hpp"

#include <boost/test/unit_test.hpp>

#include <chrono>
#include <cstdint>
#include <string>

using dovewarden::audit::AuditWriter;
using dovewarden::audit::Retention;
using dovewarden::test::plugin_event;
using dovewarden::test::wait_until;

namespace {

constexpr std::int64_t k_day = std::int64_t{86400} * 1000000;

// Five records, the first three written 100 days ago, the others now.
struct RetentionFixture : dovewarden::test::AuditFixture {
  RetentionFixture() {
    AuditWriter writer(store, sign(), audit_metrics, AuditWriter::Options{});
    for (std::uint64_t seq = 1; seq <= 5; ++seq)
      writer.handle(plugin_event("a", seq));
    writer.flush();
    for (std::uint64_t seq = 1; seq <= 5; ++seq)
      store.set_time(seq, dovewarden::util::unix_micros() -
                              (seq <= 3 ? 100 * k_day : 0));
  }
  Retention::Options options(unsigned days = 90) {
    Retention::Options o;
    o.days = days;
    return o;
  }
  double metric(const std::string &line) const {
    return dovewarden::test::metric_value(metrics, line).value_or(-1);
  }
};

} // namespace

BOOST_FIXTURE_TEST_SUITE(audit_retention, RetentionFixture)

BOOST_AUTO_TEST_CASE(removes_old_records_behind_a_signed_base) {
  const auto third = store.records()[2];
  Retention retention(store, sign(), audit_metrics, options());
  const auto removed = retention.run(dovewarden::util::unix_micros());
  BOOST_REQUIRE(removed);
  BOOST_TEST(*removed == 3u);
  const auto records = store.records();
  BOOST_REQUIRE(records.size() == 2u);
  BOOST_TEST(records[0].seq == 4u);
  const auto base = store.base();
  BOOST_REQUIRE(base);
  BOOST_REQUIRE(base->has_value());
  BOOST_TEST((*base)->size == 3u);
  BOOST_TEST((*base)->hash == third.hash);
  BOOST_TEST((*base)->origin == store.chain());
  BOOST_TEST(records[0].prev_hash == (*base)->hash);
  BOOST_TEST(metric("dovewarden_audit_removed_total") == 3);
  BOOST_TEST(metric("dovewarden_audit_retention_runs_total{result=\"ok\"}") ==
             1);
  // nothing more is old: the next run removes nothing and signs nothing
  const auto signed_before = signed_count.load();
  const auto again = retention.run(dovewarden::util::unix_micros());
  BOOST_REQUIRE(again);
  BOOST_TEST(*again == 0u);
  BOOST_TEST(signed_count.load() == signed_before);
}

BOOST_AUTO_TEST_CASE(keeps_records_younger_than_the_retention) {
  Retention retention(store, sign(), audit_metrics, options(365));
  const auto removed = retention.run(dovewarden::util::unix_micros());
  BOOST_REQUIRE(removed);
  BOOST_TEST(*removed == 0u);
  BOOST_TEST(store.records().size() == 5u);
}

BOOST_AUTO_TEST_CASE(an_old_record_behind_a_younger_one_stays) {
  store.set_time(2, dovewarden::util::unix_micros());
  Retention retention(store, sign(), audit_metrics, options());
  const auto removed = retention.run(dovewarden::util::unix_micros());
  BOOST_REQUIRE(removed);
  BOOST_TEST(*removed == 1u);
  const auto records = store.records();
  BOOST_REQUIRE(records.size() == 4u);
  BOOST_TEST(records[0].seq == 2u);
  BOOST_TEST(records[1].seq == 3u);
}

BOOST_AUTO_TEST_CASE(a_failed_run_is_counted) {
  Retention retention(store, sign(), audit_metrics, options());
  store.failing = true;
  BOOST_TEST(!retention.run(dovewarden::util::unix_micros()));
  BOOST_TEST(
      metric("dovewarden_audit_retention_runs_total{result=\"failed\"}") == 1);
  BOOST_TEST(store.records().size() == 5u);
}

BOOST_AUTO_TEST_CASE(runs_at_start_in_the_background) {
  Retention retention(store, sign(), audit_metrics, options());
  retention.start();
  BOOST_TEST(wait_until(
      [&] { return metric("dovewarden_audit_removed_total") == 3; }));
  retention.stop();
  BOOST_TEST(store.records().size() == 2u);
}

BOOST_AUTO_TEST_CASE(zero_days_keeps_everything) {
  Retention retention(store, sign(), audit_metrics, options(0));
  retention.start();
  retention.stop();
  BOOST_TEST(metric("dovewarden_audit_retention_runs_total{result=\"ok\"}") ==
             0);
  BOOST_TEST(store.records().size() == 5u);
}

BOOST_AUTO_TEST_SUITE_END()
