#include "webhook/WebhookConfig.hpp"

#include "util/ConfigError.hpp"
#include "webhook/RetrySchedule.hpp"

#include <utility>

namespace dovewarden::webhook {

const std::vector<util::Setting> &WebhookConfig::settings() {
  static const std::vector<util::Setting> settings{
      {"DOVEWARDEN_WEBHOOKS_ENABLED", "--webhooks-enabled", "BOOL", "true",
       "deliver events to the webhook endpoints (dovewarden webhook add)",
       "deliver events to the registered endpoints; `false`: no webhook store, "
       "no webhook routes in the admin API"},
      {"DOVEWARDEN_WEBHOOK_RETRY_SCHEDULE", "--webhook-retry-schedule",
       "DURATIONS", RetrySchedule::k_default,
       "wait before each attempt of a delivery (+-20%); failed after the last",
       "comma-separated durations, one per attempt: the wait before each (the "
       "first counted from the event, the others from the failed attempt, ±20 "
       "%); after the last the delivery has failed"},
      {"DOVEWARDEN_WEBHOOK_ALLOW_NETS", "--webhook-allow-nets", "CIDRS", "",
       "private, loopback, ... networks webhooks may still reach, e.g. "
       "10.1.0.0/16",
       "comma-separated CIDRs or addresses, IPv4 or IPv6, that the SSRF guard "
       "lets webhooks reach although loopback, private, link-local, … e.g. "
       "`10.1.0.0/16`; empty: none"},
      {"DOVEWARDEN_WEBHOOK_DISABLE_AFTER", "--webhook-disable-after",
       "DURATION", "5d",
       "disable an endpoint whose attempts all failed this long; 0s: never",
       "disable an endpoint when no attempt has succeeded since a failure this "
       "long ago; `0s`: never"},
      {"DOVEWARDEN_WEBHOOK_MAX_PAYLOAD", "--webhook-max-payload", "BYTES",
       "262144", "events whose payload is larger are not delivered (counted)",
       "bytes, 1024 to 67108864; an event whose payload is larger is not "
       "delivered, and counted"},
      {"DOVEWARDEN_WEBHOOK_MAX_IN_FLIGHT", "--webhook-max-in-flight", "COUNT",
       "64", "webhook requests in flight at once, all endpoints together",
       "webhook requests in flight at once, all endpoints together (1 to "
       "10000)"},
      {"DOVEWARDEN_WEBHOOK_RETENTION", "--webhook-retention", "DURATION", "7d",
       "how long finished deliveries stay in the delivery log",
       "how long finished deliveries stay in the delivery log, from their "
       "creation; more than `0s`"},
  };
  return settings;
}

WebhookConfig WebhookConfig::from(const util::SettingValues &values) {
  WebhookConfig w;
  w.enabled = values.boolean("DOVEWARDEN_WEBHOOKS_ENABLED");
  const auto &schedule = values.text("DOVEWARDEN_WEBHOOK_RETRY_SCHEDULE");
  auto parsed = RetrySchedule::parse(schedule);
  if (!parsed)
    throw util::ConfigError("DOVEWARDEN_WEBHOOK_RETRY_SCHEDULE",
                            parsed.error());
  w.retry_schedule = parsed->delays();
  auto policy =
      AddressPolicy::parse(values.text("DOVEWARDEN_WEBHOOK_ALLOW_NETS"));
  if (!policy)
    throw util::ConfigError("DOVEWARDEN_WEBHOOK_ALLOW_NETS", policy.error());
  w.address_policy = std::move(*policy);
  w.disable_after = values.duration("DOVEWARDEN_WEBHOOK_DISABLE_AFTER");
  w.max_payload = static_cast<std::size_t>(
      values.number("DOVEWARDEN_WEBHOOK_MAX_PAYLOAD", 1024, 64u << 20));
  w.max_in_flight = static_cast<unsigned>(
      values.number("DOVEWARDEN_WEBHOOK_MAX_IN_FLIGHT", 1, 10000));
  w.retention = values.positive_duration("DOVEWARDEN_WEBHOOK_RETENTION");
  return w;
}

} // namespace dovewarden::webhook
