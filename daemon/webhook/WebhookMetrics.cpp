#include "webhook/WebhookMetrics.hpp"

#include <prometheus/family.h>

namespace dovewarden::webhook {

namespace {

using prometheus::BuildCounter;
using prometheus::BuildGauge;
using prometheus::BuildHistogram;

// from a fast local receiver to the default 15 s timeout and beyond
const prometheus::Histogram::BucketBoundaries k_buckets{
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15, 30, 60};

template <std::size_t N>
std::size_t index_of(const std::array<const char *, N> &values,
                     std::string_view value, std::size_t fallback) {
  for (std::size_t i = 0; i < N; i++) {
    if (value == values[i])
      return i;
  }
  return fallback;
}

} // namespace

WebhookMetrics::WebhookMetrics(prometheus::Registry &registry)
    : enqueued(BuildCounter()
                   .Name("dovewarden_webhook_enqueued_total")
                   .Help("Webhook deliveries written to the outbox")
                   .Register(registry)
                   .Add({})),
      too_large(BuildCounter()
                    .Name("dovewarden_webhook_payloads_refused_total")
                    .Help("Event payloads not delivered, by reason")
                    .Register(registry)
                    .Add({{"reason", "too_large"}})),
      m_duration(BuildHistogram()
                     .Name("dovewarden_webhook_attempt_duration_seconds")
                     .Help("How long webhook delivery attempts took")
                     .Register(registry)
                     .Add({}, k_buckets)),
      m_pending(BuildGauge()
                    .Name("dovewarden_webhook_outbox_pending")
                    .Help("Webhook deliveries pending in the outbox")
                    .Register(registry)
                    .Add({})),
      m_in_flight(BuildGauge()
                      .Name("dovewarden_webhook_in_flight")
                      .Help("Webhook requests in flight")
                      .Register(registry)
                      .Add({})) {
  auto &deliveries =
      BuildCounter()
          .Name("dovewarden_webhook_deliveries_total")
          .Help("Webhook delivery attempts by what became of the delivery: "
                "succeeded, failed (schedule used up), retried, disabled "
                "(its endpoint was disabled)")
          .Register(registry);
  for (std::size_t i = 0; i < k_results.size(); i++)
    m_deliveries[i] = &deliveries.Add({{"result", k_results[i]}});
  auto &attempts = BuildCounter()
                       .Name("dovewarden_webhook_attempts_total")
                       .Help("Webhook delivery attempts by outcome")
                       .Register(registry);
  for (std::size_t i = 0; i < k_outcomes.size(); i++)
    m_attempts[i] = &attempts.Add({{"outcome", k_outcomes[i]}});
  auto &endpoints = BuildGauge()
                        .Name("dovewarden_webhook_endpoints")
                        .Help("Webhook endpoints by state")
                        .Register(registry);
  m_enabled = &endpoints.Add({{"state", "enabled"}});
  m_disabled = &endpoints.Add({{"state", "disabled"}});
}

void WebhookMetrics::delivery(std::string_view result) {
  const auto i = index_of(k_results, result, k_results.size());
  if (i < k_results.size())
    m_deliveries[i]->Increment();
}

void WebhookMetrics::attempt(std::string_view outcome, double seconds) {
  m_attempts[index_of(k_outcomes, outcome, k_outcomes.size() - 1)]->Increment();
  m_duration.Observe(seconds);
}

void WebhookMetrics::pending(std::uint64_t deliveries) {
  m_pending.Set(static_cast<double>(deliveries));
}

void WebhookMetrics::endpoints(std::size_t enabled, std::size_t disabled) {
  m_enabled->Set(static_cast<double>(enabled));
  m_disabled->Set(static_cast<double>(disabled));
}

void WebhookMetrics::in_flight(std::size_t transfers) {
  m_in_flight.Set(static_cast<double>(transfers));
}

} // namespace dovewarden::webhook
