#pragma once

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace dovewarden::webhook {

// The webhook deliverer's metrics, on the daemon's registry. Every label
// has a fixed set of values, made up front: none carries an endpoint or a
// user, so that the series stay few whatever is registered. Thread-safe.
class WebhookMetrics {
public:
  static constexpr std::array<const char *, 4> k_results{"succeeded", "failed",
                                                         "retried", "disabled"};
  static constexpr std::array<const char *, 7> k_outcomes{
      "2xx", "3xx", "4xx", "5xx", "timeout", "refused", "error"};

  explicit WebhookMetrics(prometheus::Registry &registry);
  WebhookMetrics(const WebhookMetrics &) = delete;
  WebhookMetrics &operator=(const WebhookMetrics &) = delete;

  // A delivery's attempt ended with result (one of k_results; others are
  // not counted).
  void delivery(std::string_view result);
  // An attempt ended with outcome (one of k_outcomes, else "error") after
  // seconds.
  void attempt(std::string_view outcome, double seconds);
  void pending(std::uint64_t deliveries);
  void endpoints(std::size_t enabled, std::size_t disabled);
  void in_flight(std::size_t transfers);

  // deliveries the dispatcher wrote to the outbox
  prometheus::Counter &enqueued;
  // event payloads over DOVEWARDEN_WEBHOOK_MAX_PAYLOAD, not delivered
  prometheus::Counter &too_large;

private:
  std::array<prometheus::Counter *, k_results.size()> m_deliveries{};
  std::array<prometheus::Counter *, k_outcomes.size()> m_attempts{};
  prometheus::Histogram &m_duration;
  prometheus::Gauge &m_pending;
  prometheus::Gauge &m_in_flight;
  prometheus::Gauge *m_enabled = nullptr;
  prometheus::Gauge *m_disabled = nullptr;
};

} // namespace dovewarden::webhook
