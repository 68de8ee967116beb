#include "replication/ReplicationMetrics.hpp"

#include "store/ReplicationStore.hpp"

namespace dovewarden::replication {

namespace {

using prometheus::BuildCounter;
using prometheus::BuildGauge;
using prometheus::BuildHistogram;

prometheus::Gauge &gauge(prometheus::Registry &registry, const char *name,
                         const char *help) {
  return BuildGauge().Name(name).Help(help).Register(registry).Add({});
}

const prometheus::Histogram::BucketBoundaries k_sync_buckets{
    0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300};

// sources, results and operations are words of this code, never of the wire
std::string label(std::string_view value) { return std::string(value); }

} // namespace

ReplicationMetrics::ReplicationMetrics(prometheus::Registry &registry)
    : m_syncs(BuildCounter()
                  .Name("dovewarden_replication_syncs_total")
                  .Help("doveadm syncs by kind (fast, full) and result")
                  .Register(registry)),
      m_sync_seconds(BuildHistogram()
                         .Name("dovewarden_replication_sync_duration_seconds")
                         .Help("How long doveadm syncs took, by kind")
                         .Register(registry)),
      m_doveadm(BuildCounter()
                    .Name("dovewarden_doveadm_requests_total")
                    .Help("doveadm requests by command (sync, user) and "
                          "result")
                    .Register(registry)),
      m_doveadm_up(gauge(registry, "dovewarden_doveadm_up",
                         "1 if doveadm can be reached, 0 while the workers "
                         "wait for it")),
      m_store_errors(BuildCounter()
                         .Name("dovewarden_store_errors_total")
                         .Help("Failed calls of the replication store")
                         .Register(registry)),
      m_sweeps(BuildCounter()
                   .Name("dovewarden_replication_sweeps_total")
                   .Help("Background sweeps over all users, by result")
                   .Register(registry)),
      m_sweep_seconds(gauge(registry,
                            "dovewarden_replication_sweep_duration_seconds",
                            "How long the last background sweep took")),
      m_sweep_users(gauge(registry, "dovewarden_replication_sweep_users",
                          "Users the last background sweep listed")),
      m_uidvalidity(
          BuildCounter()
              .Name("dovewarden_replication_uidvalidity_changes_total")
              .Help("Mailboxes seen with a new UIDVALIDITY (full sync queued)")
              .Register(registry)
              .Add({})),
      m_noreplicate(
          BuildCounter()
              .Name("dovewarden_replication_noreplicate_skips_total")
              .Help("Syncs skipped because the userdb says noreplicate (the "
                    "user left the queue)")
              .Register(registry)
              .Add({})),
      m_waiting(gauge(registry, "dovewarden_replication_waiting",
                      "Queued users backing off after a failed sync")),
      m_running(gauge(registry, "dovewarden_replication_running",
                      "Users being synced (leased), by every daemon")),
      m_failed(gauge(registry, "dovewarden_replication_failed",
                     "Users whose last sync failed")),
      m_users(gauge(registry, "dovewarden_replication_users",
                    "Users the store knows")) {
  m_doveadm_up.Set(1);
  for (const char *kind : {"fast", "full"}) {
    for (const char *result : {"ok", "failed"})
      m_syncs.Add({{"kind", kind}, {"result", result}});
    m_sync_seconds.Add({{"kind", kind}}, k_sync_buckets);
  }
  for (const char *command : k_doveadm_commands) {
    for (const char *result : k_doveadm_results)
      m_doveadm.Add({{"command", command}, {"result", result}});
  }
  for (const char *operation : k_store_operations)
    m_store_errors.Add({{"operation", operation}});
  for (const char *result : {"ok", "failed"})
    m_sweeps.Add({{"result", result}});
  auto &events = BuildCounter()
                     .Name("dovewarden_replication_events_total")
                     .Help("Events seen by replication, by source and the "
                           "priority they queued their user at (ignored: none)")
                     .Register(registry);
  for (std::size_t s = 0; s < k_sources.size(); s++) {
    for (int p = 0; p <= store::k_priority_count; p++) {
      const char *priority =
          p < store::k_priority_count
              ? priority_name(static_cast<store::Priority>(p))
              : "ignored";
      m_events[s][p] =
          &events.Add({{"source", k_sources[s]}, {"priority", priority}});
    }
  }
  auto &queue = BuildGauge()
                    .Name("dovewarden_replication_queue")
                    .Help("Queued users by priority")
                    .Register(registry);
  for (int i = 0; i < store::k_priority_count; i++) {
    const auto priority = static_cast<store::Priority>(i);
    m_queued[i] = &queue.Add({{"priority", priority_name(priority)}});
  }
}

void ReplicationMetrics::event(std::string_view source,
                               const store::Priority *priority) {
  std::size_t s = 0;
  while (s + 1 < k_sources.size() && source != k_sources[s])
    s++;
  const auto p = priority ? static_cast<std::size_t>(*priority)
                          : static_cast<std::size_t>(store::k_priority_count);
  m_events[s][p]->Increment();
}

void ReplicationMetrics::sync(bool full, bool ok, double seconds) {
  const char *kind = full ? "full" : "fast";
  m_syncs.Add({{"kind", kind}, {"result", ok ? "ok" : "failed"}}).Increment();
  m_sync_seconds.Add({{"kind", kind}}, k_sync_buckets).Observe(seconds);
}

void ReplicationMetrics::doveadm_request(std::string_view command,
                                         std::string_view result) {
  m_doveadm.Add({{"command", label(command)}, {"result", label(result)}})
      .Increment();
}

void ReplicationMetrics::doveadm_up(bool up) { m_doveadm_up.Set(up ? 1 : 0); }

void ReplicationMetrics::noreplicate_skip() { m_noreplicate.Increment(); }

void ReplicationMetrics::store_error(std::string_view operation) {
  m_store_errors.Add({{"operation", label(operation)}}).Increment();
}

void ReplicationMetrics::sweep(bool ok, double seconds, std::size_t users) {
  m_sweeps.Add({{"result", ok ? "ok" : "failed"}}).Increment();
  m_sweep_seconds.Set(seconds);
  if (ok)
    m_sweep_users.Set(static_cast<double>(users));
}

void ReplicationMetrics::uidvalidity_changed() { m_uidvalidity.Increment(); }

void ReplicationMetrics::queue(const store::QueueStatus &status) {
  for (int i = 0; i < store::k_priority_count; i++)
    m_queued[i]->Set(static_cast<double>(status.queued[i]));
  m_waiting.Set(static_cast<double>(status.waiting));
  m_running.Set(static_cast<double>(status.running));
  m_failed.Set(static_cast<double>(status.failed));
  m_users.Set(static_cast<double>(status.users));
}

} // namespace dovewarden::replication
