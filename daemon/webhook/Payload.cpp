#include "webhook/Payload.hpp"

#include "core/EventJson.hpp"

#include <cstdio>
#include <ctime>

namespace dovewarden::webhook {

namespace {

// Returns when the event happened: its "ts" field (µs since the epoch) if it
// has one, else when it arrived.
std::chrono::microseconds happened(const core::Event &event) {
  if (event.message.find("ts") != nullptr)
    return std::chrono::microseconds(event.message.integer("ts"));
  return std::chrono::duration_cast<std::chrono::microseconds>(
      event.received.time_since_epoch());
}

std::string rfc3339(std::chrono::microseconds since_epoch) {
  const auto seconds =
      std::chrono::duration_cast<std::chrono::seconds>(since_epoch);
  const std::time_t time = seconds.count();
  std::tm utc{};
  ::gmtime_r(&time, &utc);
  char text[80];
  std::snprintf(text, sizeof(text), "%04d-%02d-%02dT%02d:%02d:%02d.%06lldZ",
                utc.tm_year + 1900, utc.tm_mon + 1, utc.tm_mday, utc.tm_hour,
                utc.tm_min, utc.tm_sec,
                static_cast<long long>((since_epoch - seconds).count()));
  return text;
}

} // namespace

std::string payload(const core::Event &event) {
  core::Json body = core::Json::object();
  body["type"] = event.type();
  body["timestamp"] = rfc3339(happened(event));
  if (auto sender = core::sender_json(event); !sender.is_null())
    body["sender"] = std::move(sender);
  body["data"] = core::fields_json(event.message);
  return core::dump(body);
}

std::string batch_payload(const std::vector<std::string> &payloads) {
  std::string body = "[";
  for (const auto &one : payloads) {
    if (body.size() > 1)
      body += ',';
    body += one;
  }
  body += ']';
  return body;
}

} // namespace dovewarden::webhook
