#pragma once

#include "metrics/BoundedLabel.hpp"

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace dovewarden::metrics {

// The daemon's Prometheus metrics. Labels never carry a user; those fed from
// the wire (type, svc) are bounded by BoundedLabel. Thread-safe.
class Metrics {
public:
  // The counters and gauges of one bus subscriber.
  struct Subscriber {
    prometheus::Counter &delivered;
    prometheus::Counter &failed;
    prometheus::Counter &dropped;
    prometheus::Counter &blocked_seconds;
    prometheus::Gauge &queue_depth;
    prometheus::Gauge &queue_capacity;
  };

  Metrics();
  Metrics(const Metrics &) = delete;
  Metrics &operator=(const Metrics &) = delete;

  // Returns every metric in the Prometheus text format.
  std::string serialize() const;
  prometheus::Registry &registry() { return *m_registry; }

  void event_received(std::string_view source, std::string_view type);
  void event_rejected(std::string_view source, std::string_view reason);
  // Counts a peer source refused to take events from; reason is one of a
  // few fixed names.
  void peer_refused(std::string_view source, std::string_view reason);
  // Make the series of a rejection or refusal a source can count, at 0, so
  // that an alert on its increase sees the first one.
  void expect_rejection(std::string_view source, std::string_view reason);
  void expect_refusal(std::string_view source, std::string_view reason);
  void events_lost(std::string_view svc, std::uint64_t count);
  // Returns the events lost so far, by service (svc as the label has it).
  std::map<std::string, std::uint64_t> events_lost_by_service() const;
  // Counts a seq no real process sends (LossDetector's reset).
  void seq_reset(std::string_view svc);
  void event_filtered();
  // Returns the metrics of the subscriber called name, creating them.
  Subscriber subscriber(const std::string &name);

private:
  // a Family::Add per event hashes and locks; remember the children instead
  prometheus::Counter &counter(prometheus::Family<prometheus::Counter> &family,
                               const prometheus::Labels &labels);

  std::shared_ptr<prometheus::Registry> m_registry;
  prometheus::Family<prometheus::Counter> &m_received;
  prometheus::Family<prometheus::Counter> &m_rejected;
  prometheus::Family<prometheus::Counter> &m_refused;
  prometheus::Family<prometheus::Counter> &m_lost;
  prometheus::Family<prometheus::Counter> &m_seq_resets;
  prometheus::Counter &m_filtered;
  prometheus::Family<prometheus::Counter> &m_delivered;
  prometheus::Family<prometheus::Counter> &m_failed;
  prometheus::Family<prometheus::Counter> &m_dropped;
  prometheus::Family<prometheus::Counter> &m_blocked;
  prometheus::Family<prometheus::Gauge> &m_queue_depth;
  prometheus::Family<prometheus::Gauge> &m_queue_capacity;

  BoundedLabel m_types;
  BoundedLabel m_services;
  std::mutex m_cache_mutex;
  std::unordered_map<std::string, prometheus::Counter *> m_cache;
  std::unordered_map<std::string, prometheus::Counter *> m_received_by_pair;
};

} // namespace dovewarden::metrics
