#pragma once

#include "store/Priority.hpp"

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <array>
#include <string>
#include <string_view>

namespace dovewarden::store {
struct QueueStatus;
}

namespace dovewarden::replication {

// The replication controller's metrics, on the daemon's registry. Every
// label has a fixed set of values; none carries a user. Thread-safe.
class ReplicationMetrics {
public:
  // The values of the labels of the error and outcome counters: each
  // series exists from the start, at 0, so that an alert sees the first
  // error.
  static constexpr std::array<const char *, 10> k_store_operations{
      "claim",         "enqueue", "fail",  "lease_owners", "release",
      "release_owner", "remove",  "renew", "status",       "succeed"};
  static constexpr std::array<const char *, 2> k_doveadm_commands{"sync",
                                                                  "user"};
  static constexpr std::array<const char *, 6> k_doveadm_results{
      "ok", "unreachable", "temporary", "no_such_user", "auth", "protocol"};

  explicit ReplicationMetrics(prometheus::Registry &registry);
  ReplicationMetrics(const ReplicationMetrics &) = delete;
  ReplicationMetrics &operator=(const ReplicationMetrics &) = delete;

  // An event that queued its user (priority) or did not (nothing).
  void event(std::string_view source, const store::Priority *priority);
  void sync(bool full, bool ok, double seconds);
  // command: sync or user; result: ok, or a DoveadmClient failure kind.
  void doveadm_request(std::string_view command, std::string_view result);
  // Whether doveadm can be reached (a connection to it can be made).
  void doveadm_up(bool up);
  // A sync skipped because the userdb says noreplicate.
  void noreplicate_skip();
  // operation: one of k_store_operations.
  void store_error(std::string_view operation);
  void sweep(bool ok, double seconds, std::size_t users);
  void uidvalidity_changed();
  void queue(const store::QueueStatus &status);

private:
  // by source (k_sources) and priority, the last column for "ignored":
  // made once, as this is counted for every event
  static constexpr std::array<const char *, 4> k_sources{"zmq", "http",
                                                         "daemon", "other"};
  std::array<std::array<prometheus::Counter *, store::k_priority_count + 1>,
             k_sources.size()>
      m_events{};
  prometheus::Family<prometheus::Counter> &m_syncs;
  prometheus::Family<prometheus::Histogram> &m_sync_seconds;
  prometheus::Family<prometheus::Counter> &m_doveadm;
  prometheus::Gauge &m_doveadm_up;
  prometheus::Family<prometheus::Counter> &m_store_errors;
  prometheus::Family<prometheus::Counter> &m_sweeps;
  prometheus::Gauge &m_sweep_seconds;
  prometheus::Gauge &m_sweep_users;
  prometheus::Counter &m_uidvalidity;
  prometheus::Counter &m_noreplicate;
  std::array<prometheus::Gauge *, store::k_priority_count> m_queued{};
  prometheus::Gauge &m_waiting;
  prometheus::Gauge &m_running;
  prometheus::Gauge &m_failed;
  prometheus::Gauge &m_users;
};

} // namespace dovewarden::replication
