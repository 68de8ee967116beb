#include "audit/AuditMetrics.hpp"

#include <prometheus/family.h>

namespace dovewarden::audit {

namespace {

using prometheus::BuildCounter;
using prometheus::BuildGauge;
using prometheus::BuildHistogram;

const prometheus::Histogram::BucketBoundaries k_batch_buckets{
    1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000};
const prometheus::Histogram::BucketBoundaries k_write_buckets{
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
    0.1,    0.25,  0.5,    1,     2.5,  5,     10};

} // namespace

AuditMetrics::AuditMetrics(prometheus::Registry &registry)
    : gaps(BuildCounter()
               .Name("dovewarden_audit_gaps_total")
               .Help("Gap records: events the audit log did not receive or "
                     "could not keep")
               .Register(registry)
               .Add({})),
      m_records(BuildCounter()
                    .Name("dovewarden_audit_records_total")
                    .Help("Audit records written")
                    .Register(registry)
                    .Add({})),
      m_batch(BuildHistogram()
                  .Name("dovewarden_audit_batch_records")
                  .Help("Audit records per batch written")
                  .Register(registry)
                  .Add({}, k_batch_buckets)),
      m_write(BuildHistogram()
                  .Name("dovewarden_audit_write_seconds")
                  .Help("How long writing a batch of audit records took")
                  .Register(registry)
                  .Add({}, k_write_buckets)),
      m_head(BuildGauge()
                 .Name("dovewarden_audit_chain_head")
                 .Help("The seq of the audit chain's last record")
                 .Register(registry)
                 .Add({})),
      m_checkpoint_age(BuildGauge()
                           .Name("dovewarden_audit_checkpoint_age_seconds")
                           .Help("Seconds since the last audit checkpoint "
                                 "was signed")
                           .Register(registry)
                           .Add({})),
      m_removed(BuildCounter()
                    .Name("dovewarden_audit_removed_total")
                    .Help("Audit records removed by retention")
                    .Register(registry)
                    .Add({})) {
  auto &runs = BuildCounter()
                   .Name("dovewarden_audit_retention_runs_total")
                   .Help("Audit retention runs by result")
                   .Register(registry);
  m_retention_ok = &runs.Add({{"result", "ok"}});
  m_retention_failed = &runs.Add({{"result", "failed"}});
}

void AuditMetrics::written(std::size_t records, double seconds,
                           std::uint64_t head_seq) {
  m_records.Increment(static_cast<double>(records));
  m_batch.Observe(static_cast<double>(records));
  m_write.Observe(seconds);
  head(head_seq);
}

void AuditMetrics::head(std::uint64_t seq) {
  m_head.Set(static_cast<double>(seq));
}

void AuditMetrics::checkpoint_age(double seconds) {
  m_checkpoint_age.Set(seconds);
}

void AuditMetrics::retention_run(bool ok, std::uint64_t removed) {
  (ok ? m_retention_ok : m_retention_failed)->Increment();
  m_removed.Increment(static_cast<double>(removed));
}

} // namespace dovewarden::audit
