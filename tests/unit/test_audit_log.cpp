#include "AuditWriterFixture.hpp"
#include "TestUtil.hpp"
#include "audit/AuditMetrics.hpp"
#include "audit/AuditWriter.hpp"
#include "audit/Checkpoint.hpp"
#include "audit/Retention.hpp"
#include "audit/SqliteAuditStore.hpp"
#include "audit/Verifier.hpp"
#include "metrics/Metrics.hpp"
#include "util/Time.hpp"

#include <boost/test/unit_test.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

// The writer and retention over the real SQLite store and a real key: what
// they leave verifies.

using dovewarden::audit::AuditWriter;
using dovewarden::audit::CheckpointSigner;
using dovewarden::audit::CheckpointVerifier;
using dovewarden::audit::SqliteAuditStore;
using dovewarden::test::ok;
using dovewarden::test::plugin_event;

namespace {

constexpr const char *k_origin = "mx1.example.com/dovewarden/audit";
constexpr std::int64_t k_day = std::int64_t{86400} * 1000000;

struct AuditLog {
  dovewarden::test::TempDir dir;
  dovewarden::metrics::Metrics metrics;
  dovewarden::audit::AuditMetrics audit_metrics{metrics.registry()};
  CheckpointSigner signer{
      ok(CheckpointSigner::load(dir.path() + "/audit.key", k_origin))};
  std::unique_ptr<SqliteAuditStore> store = open();

  std::unique_ptr<SqliteAuditStore> open() {
    return ok(SqliteAuditStore::open(dir.path(), k_origin));
  }
  dovewarden::audit::Sign sign() {
    return
        [this](std::uint64_t size, const std::string &hash, std::int64_t time) {
          return signer.sign(k_origin, size, hash, time);
        };
  }
  AuditWriter::Options options() {
    AuditWriter::Options o;
    o.selection = "message.*,events.lost";
    o.checkpoint_records = 4;
    return o;
  }
  dovewarden::audit::VerifyReport verify() {
    dovewarden::audit::VerifyInput input;
    input.origin = k_origin;
    input.base = ok(store->base());
    input.checkpoints =
        ok(store->checkpoints(input.base ? input.base->size : 0, 1000));
    input.pages = [this](std::uint64_t after, std::size_t limit)
        -> tl::expected<std::vector<dovewarden::audit::Record>, std::string> {
      dovewarden::audit::Query query;
      query.after = after;
      query.limit = limit;
      auto records = store->query(query);
      if (!records)
        return tl::unexpected(records.error().message);
      return std::move(*records);
    };
    return dovewarden::audit::verify(
        input, ok(CheckpointVerifier::parse(signer.verifier_key())));
  }
};

} // namespace

BOOST_FIXTURE_TEST_SUITE(audit_log, AuditLog)

BOOST_AUTO_TEST_CASE(a_restart_records_the_gap_once_and_verifies) {
  {
    AuditWriter writer(*store, sign(), audit_metrics, options());
    for (std::uint64_t seq = 1; seq <= 5; ++seq)
      writer.handle(plugin_event("a", seq));
    writer.flush();
  }
  store.reset();
  store = open();
  AuditWriter writer(*store, sign(), audit_metrics, options());
  // a replay of what was recorded, then what a crash lost showing
  for (const std::uint64_t seq : {4, 5, 9, 10})
    writer.handle(plugin_event("a", seq));
  writer.flush();
  dovewarden::audit::Query query;
  query.limit = 100;
  const auto records = ok(store->query(query));
  BOOST_REQUIRE(records.size() == 8u);
  BOOST_TEST(records[5].operation == "events.lost");
  BOOST_TEST(records[5].details.find(R"("from":6,"to":8)") !=
             std::string::npos);
  BOOST_TEST(records[7].event_seq == 10u);
  const auto report = verify();
  BOOST_TEST(report.ok(), report.message);
  BOOST_TEST(report.records == 8u);
  BOOST_TEST(report.checkpoints == 1u); // after the first batch of 5
}

BOOST_AUTO_TEST_CASE(retention_leaves_a_base_that_verifies) {
  AuditWriter writer(*store, sign(), audit_metrics, options());
  for (std::uint64_t seq = 1; seq <= 10; ++seq) {
    auto event = plugin_event("a", seq);
    event.message.set("ts", dovewarden::util::unix_micros() -
                                (seq <= 6 ? 100 * k_day : 0));
    writer.handle(event);
  }
  writer.flush();
  dovewarden::audit::Retention::Options options;
  options.days = 90;
  options.step = 4;
  dovewarden::audit::Retention retention(*store, sign(), audit_metrics,
                                         options);
  BOOST_TEST(ok(retention.run(dovewarden::util::unix_micros())) == 6u);
  const auto base = ok(store->base());
  BOOST_REQUIRE(base.has_value());
  BOOST_TEST(base->size == 6u);
  BOOST_TEST(ok(CheckpointVerifier::parse(signer.verifier_key()))
                 .open(base->note)
                 .has_value());
  const auto report = verify();
  BOOST_TEST(report.ok(), report.message);
  BOOST_TEST(report.records == 4u);
  // the writer goes on after the base
  writer.handle(plugin_event("a", 11));
  writer.flush();
  BOOST_TEST(verify().ok());
}

BOOST_AUTO_TEST_SUITE_END()
