#include "metrics/Metrics.hpp"

#include "core/Catalogue.hpp"
#include "dovewarden-config.h"

#include <prometheus/text_serializer.h>

#include <algorithm>
#include <array>
#include <type_traits>

namespace dovewarden::metrics {

namespace {

// svc comes from the plugin: the usual services, whose events_lost and
// seq_resets series exist from the start, at 0, and up to k_max_services
// others
constexpr std::array<std::string_view, 5> k_usual_services{
    "imap", "lmtp", "pop3", "lda", "doveadm"};
constexpr std::size_t k_max_services = 16;

bool is_usual_service(std::string_view svc) {
  return std::find(k_usual_services.begin(), k_usual_services.end(), svc) !=
         k_usual_services.end();
}
// a type outside the catalogue is labelled "other"
constexpr std::size_t k_max_unknown_types = 0;
// (source, type as sent) pairs remembered for event_received()
constexpr std::size_t k_max_received_pairs = 1024;

template <typename T>
prometheus::Family<T> &family(prometheus::Registry &registry, const char *name,
                              const char *help) {
  if constexpr (std::is_same_v<T, prometheus::Counter>)
    return prometheus::BuildCounter().Name(name).Help(help).Register(registry);
  else
    return prometheus::BuildGauge().Name(name).Help(help).Register(registry);
}

} // namespace

Metrics::Metrics()
    : m_registry(std::make_shared<prometheus::Registry>()),
      m_received(family<prometheus::Counter>(
          *m_registry, "dovewarden_events_received_total",
          "Events accepted from a source, by event type")),
      m_rejected(family<prometheus::Counter>(
          *m_registry, "dovewarden_events_rejected_total",
          "Messages a source could not decode, by reason")),
      m_refused(family<prometheus::Counter>(
          *m_registry, "dovewarden_peers_refused_total",
          "Connections a source refused to take events from, by reason")),
      m_lost(family<prometheus::Counter>(
          *m_registry, "dovewarden_events_lost_total",
          "Events missing in a plugin process's sequence numbers")),
      m_seq_resets(family<prometheus::Counter>(
          *m_registry, "dovewarden_events_seq_resets_total",
          "Implausible sequence numbers (a jump no lost events explain, "
          "or a step back), taken as a new start, not as events lost")),
      m_filtered(family<prometheus::Counter>(*m_registry,
                                             "dovewarden_events_filtered_total",
                                             "Events no subscription matched")
                     .Add({})),
      m_delivered(family<prometheus::Counter>(*m_registry,
                                              "dovewarden_bus_delivered_total",
                                              "Events a subscriber handled")),
      m_failed(family<prometheus::Counter>(
          *m_registry, "dovewarden_bus_failed_total",
          "Failed handle() or flush() calls of a subscriber")),
      m_dropped(family<prometheus::Counter>(
          *m_registry, "dovewarden_bus_dropped_total",
          "Events not queued for a subscriber: its queue was full (drop "
          "policy) or closed")),
      m_blocked(family<prometheus::Counter>(
          *m_registry, "dovewarden_bus_blocked_seconds_total",
          "Time publishers waited for room in a subscriber's queue")),
      m_queue_depth(
          family<prometheus::Gauge>(*m_registry, "dovewarden_bus_queue_depth",
                                    "Events waiting in a subscriber's queue")),
      m_queue_capacity(family<prometheus::Gauge>(
          *m_registry, "dovewarden_bus_queue_capacity",
          "Size of a subscriber's queue")),
      m_types(k_max_unknown_types, core::is_catalogue_type),
      m_services(k_max_services, is_usual_service) {
  for (const auto svc : k_usual_services) {
    const prometheus::Labels labels{{"svc", m_services.admit(svc)}};
    counter(m_lost, labels);
    counter(m_seq_resets, labels);
  }
  family<prometheus::Gauge>(*m_registry, "dovewarden_up",
                            "1 while dovewardend runs")
      .Add({})
      .Set(1);
  family<prometheus::Gauge>(*m_registry, "dovewarden_build_info",
                            "Version of dovewardend")
      .Add({{"version", PACKAGE_VERSION}})
      .Set(1);
}

std::string Metrics::serialize() const {
  return prometheus::TextSerializer().Serialize(m_registry->Collect());
}

prometheus::Counter &
Metrics::counter(prometheus::Family<prometheus::Counter> &family,
                 const prometheus::Labels &labels) {
  std::string key = std::to_string(reinterpret_cast<std::uintptr_t>(&family));
  for (const auto &[name, value] : labels) {
    key += '\x1f';
    key += value;
  }
  std::lock_guard lock(m_cache_mutex);
  auto &cached = m_cache[key];
  if (cached == nullptr)
    cached = &family.Add(labels);
  return *cached;
}

void Metrics::event_received(std::string_view source, std::string_view type) {
  // every event passes here: look the counter up by the raw pair first,
  // without building labels; the pairs kept are bounded like the labels
  thread_local std::string key;
  key.assign(source).push_back('\x1f');
  key.append(type);
  {
    std::lock_guard lock(m_cache_mutex);
    const auto it = m_received_by_pair.find(key);
    if (it != m_received_by_pair.end()) {
      it->second->Increment();
      return;
    }
  }
  auto &received = counter(m_received, {{"source", std::string(source)},
                                        {"type", m_types.admit(type)}});
  received.Increment();
  std::lock_guard lock(m_cache_mutex);
  if (m_received_by_pair.size() < k_max_received_pairs)
    m_received_by_pair.emplace(key, &received);
}

void Metrics::event_rejected(std::string_view source, std::string_view reason) {
  counter(m_rejected,
          {{"source", std::string(source)}, {"reason", std::string(reason)}})
      .Increment();
}

void Metrics::peer_refused(std::string_view source, std::string_view reason) {
  counter(m_refused,
          {{"source", std::string(source)}, {"reason", std::string(reason)}})
      .Increment();
}

void Metrics::expect_rejection(std::string_view source,
                               std::string_view reason) {
  counter(m_rejected,
          {{"source", std::string(source)}, {"reason", std::string(reason)}});
}

void Metrics::expect_refusal(std::string_view source, std::string_view reason) {
  counter(m_refused,
          {{"source", std::string(source)}, {"reason", std::string(reason)}});
}

void Metrics::events_lost(std::string_view svc, std::uint64_t count) {
  counter(m_lost, {{"svc", m_services.admit(svc)}})
      .Increment(static_cast<double>(count));
}

std::map<std::string, std::uint64_t> Metrics::events_lost_by_service() const {
  std::map<std::string, std::uint64_t> lost;
  for (const auto &family : m_lost.Collect())
    for (const auto &metric : family.metric)
      for (const auto &label : metric.label)
        if (label.name == "svc")
          lost[label.value] += static_cast<std::uint64_t>(metric.counter.value);
  return lost;
}

void Metrics::seq_reset(std::string_view svc) {
  counter(m_seq_resets, {{"svc", m_services.admit(svc)}}).Increment();
}

void Metrics::event_filtered() { m_filtered.Increment(); }

Metrics::Subscriber Metrics::subscriber(const std::string &name) {
  const prometheus::Labels labels{{"subscriber", name}};
  return Subscriber{m_delivered.Add(labels),   m_failed.Add(labels),
                    m_dropped.Add(labels),     m_blocked.Add(labels),
                    m_queue_depth.Add(labels), m_queue_capacity.Add(labels)};
}

} // namespace dovewarden::metrics
