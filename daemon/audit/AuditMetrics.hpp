#pragma once

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <cstddef>
#include <cstdint>

namespace dovewarden::audit {

// The audit log's metrics, on the daemon's registry; every series exists
// from the start. Thread-safe.
class AuditMetrics {
public:
  explicit AuditMetrics(prometheus::Registry &registry);
  AuditMetrics(const AuditMetrics &) = delete;
  AuditMetrics &operator=(const AuditMetrics &) = delete;

  // A batch of records was written in seconds; the chain's head is now
  // head.
  void written(std::size_t records, double seconds, std::uint64_t head);
  void head(std::uint64_t seq);
  void checkpoint_age(double seconds);
  // A retention run ended: removed records, or failed.
  void retention_run(bool ok, std::uint64_t removed);

  // gap records: events the audit log did not receive or could not keep
  prometheus::Counter &gaps;

private:
  prometheus::Counter &m_records;
  prometheus::Histogram &m_batch;
  prometheus::Histogram &m_write;
  prometheus::Gauge &m_head;
  prometheus::Gauge &m_checkpoint_age;
  prometheus::Counter *m_retention_ok = nullptr;
  prometheus::Counter *m_retention_failed = nullptr;
  prometheus::Counter &m_removed;
};

} // namespace dovewarden::audit
