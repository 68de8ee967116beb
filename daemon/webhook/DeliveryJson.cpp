#include "webhook/DeliveryJson.hpp"

#include "util/JsonTime.hpp"

namespace dovewarden::webhook {

namespace {

using nlohmann::json;
using util::unix_time;

const char *state_name(DeliveryState state) {
  switch (state) {
  case DeliveryState::pending:
    return "pending";
  case DeliveryState::succeeded:
    return "succeeded";
  case DeliveryState::failed:
    return "failed";
  }
  return "unknown";
}

} // namespace

json delivery_json(const DeliveryRecord &record, bool with_body) {
  const auto &delivery = record.delivery;
  const bool pending = delivery.state == DeliveryState::pending;
  json attempts = json::array();
  for (const auto &attempt : record.attempts)
    attempts.push_back({{"at", unix_time(attempt.at)},
                        {"status", attempt.status},
                        {"latency_ms", attempt.latency.count()},
                        {"error", attempt.error},
                        {"response", attempt.response}});
  json body{
      {"id", delivery.id},
      {"endpoint_id", delivery.endpoint_id},
      {"type", delivery.event_type},
      {"events", delivery.events},
      {"state", state_name(delivery.state)},
      {"created", unix_time(delivery.created)},
      {"next_attempt", pending ? unix_time(delivery.next_attempt) : nullptr},
      {"attempts", attempts},
  };
  if (with_body)
    body["body"] = delivery.body;
  return body;
}

} // namespace dovewarden::webhook
