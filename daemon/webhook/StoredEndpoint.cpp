#include "webhook/StoredEndpoint.hpp"

#include <nlohmann/json.hpp>

namespace dovewarden::webhook {

namespace {

using nlohmann::json;

std::int64_t to_ms(TimePoint time) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             time.time_since_epoch())
      .count();
}

TimePoint from_ms(std::int64_t ms) {
  return TimePoint(std::chrono::milliseconds(ms));
}

} // namespace

std::string encode_endpoint(const Endpoint &endpoint) {
  json secrets = json::array();
  for (const auto &secret : endpoint.secrets)
    secrets.push_back(
        {{"value", secret.value}, {"expires", to_ms(secret.expires)}});
  const json object{{"id", endpoint.id},
                    {"url", endpoint.url},
                    {"event_types", endpoint.event_types},
                    {"filter", endpoint.filter},
                    {"description", endpoint.description},
                    {"timeout_ms", endpoint.timeout.count()},
                    {"rate_limit", endpoint.rate_limit},
                    {"concurrency", endpoint.concurrency},
                    {"batch_max", endpoint.batch_max},
                    {"batch_wait_ms", endpoint.batch_wait.count()},
                    {"enabled", endpoint.enabled},
                    {"disabled_reason", endpoint.disabled_reason},
                    {"secrets", std::move(secrets)},
                    {"created", to_ms(endpoint.created)},
                    {"updated", to_ms(endpoint.updated)}};
  return object.dump(-1, ' ', false, json::error_handler_t::replace);
}

tl::expected<Endpoint, std::string> decode_endpoint(std::string_view text) {
  try {
    const json object = json::parse(text);
    Endpoint endpoint;
    endpoint.id = object.at("id").get<std::string>();
    endpoint.url = object.value("url", "");
    endpoint.event_types =
        object.value("event_types", std::vector<std::string>{});
    endpoint.filter = object.value("filter", "");
    endpoint.description = object.value("description", "");
    endpoint.timeout = std::chrono::milliseconds(
        object.value("timeout_ms", endpoint.timeout.count()));
    endpoint.rate_limit = object.value("rate_limit", endpoint.rate_limit);
    endpoint.concurrency = object.value("concurrency", endpoint.concurrency);
    endpoint.batch_max = object.value("batch_max", endpoint.batch_max);
    endpoint.batch_wait = std::chrono::milliseconds(
        object.value("batch_wait_ms", endpoint.batch_wait.count()));
    endpoint.enabled = object.value("enabled", endpoint.enabled);
    endpoint.disabled_reason = object.value("disabled_reason", "");
    for (const auto &secret : object.value("secrets", json::array()))
      endpoint.secrets.push_back(
          Secret{secret.at("value").get<std::string>(),
                 from_ms(secret.value("expires", std::int64_t{0}))});
    endpoint.created = from_ms(object.value("created", std::int64_t{0}));
    endpoint.updated = from_ms(object.value("updated", std::int64_t{0}));
    return endpoint;
  } catch (const json::exception &error) {
    return tl::unexpected(std::string("stored endpoint: ") + error.what());
  }
}

} // namespace dovewarden::webhook
