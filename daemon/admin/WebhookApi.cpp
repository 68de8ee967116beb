#include "admin/WebhookApi.hpp"

#include "admin/Reply.hpp"
#include "core/Event.hpp"
#include "util/Duration.hpp"
#include "util/HttpRouter.hpp"
#include "util/Logger.hpp"
#include "util/Random.hpp"
#include "util/Strings.hpp"
#include "util/Time.hpp"
#include "webhook/DeliveryJson.hpp"
#include "webhook/EndpointJson.hpp"
#include "webhook/EndpointUrl.hpp"
#include "webhook/HostCheck.hpp"
#include "webhook/Payload.hpp"
#include "webhook/Signature.hpp"
#include "webhook/WebhookStore.hpp"

#include <nlohmann/json.hpp>

#include <optional>

namespace dovewarden::admin {

namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using webhook::Clock;
using webhook::TimePoint;

constexpr auto k_default_grace = std::chrono::milliseconds(24h);
constexpr std::uint64_t k_default_limit = 20;
constexpr std::uint64_t k_max_limit = 1000;
// a request waits this long at most for the URL's host name to resolve
constexpr auto k_resolve_timeout = std::chrono::milliseconds(3s);

using Error = tl::unexpected<std::string>;

void unknown(util::HttpResponse &response, const char *what,
             const std::string &id) {
  fail(response, 404, std::string("unknown ") + what + " " + util::quote(id));
}

void set_enabled(webhook::Endpoint &endpoint, bool enabled) {
  endpoint.enabled = enabled;
  // by hand: no reason, and an enabled endpoint starts a fresh streak
  endpoint.disabled_reason.clear();
  if (enabled)
    endpoint.failing_since = TimePoint{};
}

// Makes secret the current one; the one it replaces signs until now + grace,
// and those whose grace has passed are dropped.
void rotate(webhook::Endpoint &endpoint, std::string secret,
            std::chrono::milliseconds grace, TimePoint now) {
  std::vector<webhook::Secret> secrets{{std::move(secret), TimePoint{}}};
  for (auto old : endpoint.secrets) {
    if (old.expires == TimePoint{})
      old.expires = now + grace;
    if (old.expires > now)
      secrets.push_back(std::move(old));
  }
  endpoint.secrets = std::move(secrets);
}

// Returns a time of the recover request: Unix seconds, RFC 3339
// ("2024-05-01T12:00:00Z", "…+02:00", as util::parse_rfc3339_micros reads
// it) or a duration ago ("2h").
tl::expected<TimePoint, std::string>
time_member(const std::string &key, const json &value, TimePoint now) {
  const auto expected = key + ": expected Unix seconds, an RFC 3339 time or "
                              "a duration ago such as \"2h\"";
  if (value.is_number_integer())
    return TimePoint(std::chrono::seconds(value.get<std::int64_t>()));
  if (!value.is_string())
    return Error(expected);
  const auto text = value.get<std::string>();
  if (const auto ago = util::parse_duration(text))
    return now - *ago;
  const auto micros = util::parse_rfc3339_micros(text);
  if (!micros)
    return Error(expected);
  return TimePoint(std::chrono::duration_cast<TimePoint::duration>(
      std::chrono::microseconds(*micros)));
}

json parse_body(const util::HttpRequest &request) {
  return json::parse(request.body, nullptr, false);
}

// Adds the warning, if any, to the answer's body, and logs it.
void add_warning(json &body, const std::string &id,
                 const std::optional<std::string> &warning) {
  if (!warning)
    return;
  LOG_WARN("admin: webhook endpoint ", id, ": ", *warning);
  body["warnings"] = json::array({*warning});
}

bool wants_secrets(const util::HttpRequest &request) {
  const auto value = request.param("secrets");
  return value == "1" || value == "true";
}

} // namespace

WebhookApi::WebhookApi(webhook::WebhookStore &store,
                       const webhook::AddressPolicy &policy,
                       std::function<void()> on_change)
    : m_store(store), m_policy(policy), m_on_change(std::move(on_change)) {}

void WebhookApi::install(util::HttpRouter &router) {
  using Request = util::HttpRequest;
  using Response = util::HttpResponse;
  router.add("POST", "/v1/webhooks",
             [this](const Request &request, Response &response) {
               create(request, response);
             });
  router.add("GET", "/v1/webhooks",
             [this](const Request &, Response &response) { list(response); });
  router.add("GET", "/v1/webhooks/{}",
             [this](const Request &request, Response &response) {
               show(request, response);
             });
  router.add("PATCH", "/v1/webhooks/{}",
             [this](const Request &request, Response &response) {
               update(request, response);
             });
  router.add("DELETE", "/v1/webhooks/{}",
             [this](const Request &request, Response &response) {
               remove(request, response);
             });
  router.add("POST", "/v1/webhooks/{}/test",
             [this](const Request &request, Response &response) {
               test(request, response);
             });
  router.add("GET", "/v1/webhooks/{}/deliveries",
             [this](const Request &request, Response &response) {
               deliveries(request, response);
             });
  router.add("POST", "/v1/webhooks/{}/recover",
             [this](const Request &request, Response &response) {
               recover(request, response);
             });
  router.add("GET", "/v1/deliveries/{}",
             [this](const Request &request, Response &response) {
               delivery(request, response);
             });
  router.add("POST", "/v1/deliveries/{}/redeliver",
             [this](const Request &request, Response &response) {
               redeliver(request, response);
             });
}

void WebhookApi::endpoints_changed() const {
  if (m_on_change)
    m_on_change();
}

void WebhookApi::create(const util::HttpRequest &request,
                        util::HttpResponse &response) {
  const auto body = parse_body(request);
  if (body.is_object() && (!body.contains("url") || !body.contains("events")))
    return fail(response, 400,
                body.contains("url") ? "events: missing" : "url: missing");
  const auto now = Clock::now();
  webhook::Endpoint endpoint;
  const auto extras =
      webhook::apply_endpoint_json(body, endpoint, m_policy, false);
  if (!extras)
    return fail(response, 400, extras.error());
  const auto host =
      webhook::check_host(endpoint.url, m_policy, k_resolve_timeout);
  if (host.refusal)
    return fail(response, 400, *host.refusal);
  endpoint.created = endpoint.updated = now;
  endpoint.enabled = extras->enabled.value_or(true);
  endpoint.secrets = {
      {extras->secret.value_or(webhook::generate_secret()), TimePoint{}}};
  // 131 random bits do not collide; a second try costs nothing if they do
  for (int attempt = 0; attempt < 2; attempt++) {
    endpoint.id = util::random_id("ep_");
    const auto stored = m_store.put_endpoint(endpoint, false);
    if (!stored)
      return store_failed(response, "create endpoint", stored.error());
    if (*stored) {
      LOG_INFO("admin: webhook endpoint ", endpoint.id, " created for ",
               webhook::url_host(endpoint.url));
      auto created = webhook::endpoint_json(endpoint, true);
      add_warning(created, endpoint.id, host.warning);
      answer(response, 201, created);
      changed("webhook_add", request, response.status,
              {{"endpoint_id", endpoint.id},
               {"url_host", webhook::url_host(endpoint.url)}});
      return endpoints_changed();
    }
  }
  store_failed(response, "create endpoint", "endpoint id taken");
}

void WebhookApi::list(util::HttpResponse &response) {
  const auto endpoints = m_store.endpoints();
  if (!endpoints)
    return store_failed(response, "list endpoints", endpoints.error());
  json list = json::array();
  for (const auto &endpoint : *endpoints)
    list.push_back(webhook::endpoint_json(endpoint, false));
  answer(response, 200, list);
}

void WebhookApi::show(const util::HttpRequest &request,
                      util::HttpResponse &response) {
  const std::string id = request.matches[1];
  const auto endpoint = m_store.endpoint(id);
  if (!endpoint)
    return store_failed(response, "endpoint", endpoint.error());
  if (!*endpoint)
    return unknown(response, "endpoint", id);
  answer(response, 200,
         webhook::endpoint_json(**endpoint, wants_secrets(request)));
}

void WebhookApi::update(const util::HttpRequest &request,
                        util::HttpResponse &response) {
  const std::string id = request.matches[1];
  std::lock_guard lock(m_update_mutex);
  const auto found = m_store.endpoint(id);
  if (!found)
    return store_failed(response, "update endpoint", found.error());
  if (!*found)
    return unknown(response, "endpoint", id);
  auto endpoint = **found;
  const auto body = parse_body(request);
  const auto extras =
      webhook::apply_endpoint_json(body, endpoint, m_policy, true);
  if (!extras)
    return fail(response, 400, extras.error());
  webhook::HostCheck host;
  if (body.contains("url"))
    host = webhook::check_host(endpoint.url, m_policy, k_resolve_timeout);
  if (host.refusal)
    return fail(response, 400, *host.refusal);
  const auto now = Clock::now();
  if (extras->enabled)
    set_enabled(endpoint, *extras->enabled);
  const bool rotated = extras->rotate || extras->secret;
  if (rotated)
    rotate(endpoint, extras->secret.value_or(webhook::generate_secret()),
           extras->grace.value_or(k_default_grace), now);
  endpoint.updated = now;
  const auto stored = m_store.put_endpoint(endpoint, true);
  if (!stored)
    return store_failed(response, "update endpoint", stored.error());
  LOG_INFO("admin: webhook endpoint ", id, " updated",
           rotated ? ", secret rotated" : "");
  auto updated =
      webhook::endpoint_json(endpoint, rotated || wants_secrets(request));
  add_warning(updated, id, host.warning);
  answer(response, 200, updated);
  changed("webhook_update", request, response.status,
          {{"endpoint_id", id},
           {"enabled", endpoint.enabled},
           {"secret_rotated", rotated}});
  endpoints_changed();
}

void WebhookApi::remove(const util::HttpRequest &request,
                        util::HttpResponse &response) {
  const std::string id = request.matches[1];
  const auto removed = m_store.remove_endpoint(id);
  if (!removed)
    return store_failed(response, "remove endpoint", removed.error());
  if (!*removed)
    return unknown(response, "endpoint", id);
  LOG_INFO("admin: webhook endpoint ", id, " removed");
  response.status = 204;
  changed("webhook_remove", request, response.status, {{"endpoint_id", id}});
  endpoints_changed();
}

void WebhookApi::test(const util::HttpRequest &request,
                      util::HttpResponse &response) {
  const std::string id = request.matches[1];
  const auto endpoint = m_store.endpoint(id);
  if (!endpoint)
    return store_failed(response, "test endpoint", endpoint.error());
  if (!*endpoint)
    return unknown(response, "endpoint", id);
  auto event = core::Event::internal("webhook.test");
  event.message.set("endpoint_id", id);
  webhook::Delivery delivery;
  delivery.id = util::sortable_id("msg_");
  delivery.endpoint_id = id;
  delivery.event_type = event.type();
  delivery.body = webhook::payload(event);
  delivery.created = delivery.next_attempt = event.received;
  const auto queued = m_store.enqueue({delivery});
  if (!queued)
    return store_failed(response, "test endpoint", queued.error());
  LOG_INFO("admin: webhook endpoint ", id, ": test delivery ", delivery.id,
           " queued");
  answer(response, 202, json{{"id", delivery.id}});
  changed("webhook_test", request, response.status,
          {{"endpoint_id", id}, {"delivery_id", delivery.id}});
  endpoints_changed();
}

void WebhookApi::deliveries(const util::HttpRequest &request,
                            util::HttpResponse &response) {
  const std::string id = request.matches[1];
  std::uint64_t limit = k_default_limit;
  if (request.has_param("limit")) {
    const auto parsed =
        util::parse_unsigned(request.param("limit"), k_max_limit);
    if (!parsed || *parsed == 0)
      return fail(response, 400,
                  "limit: expected a whole number from 1 to " +
                      std::to_string(k_max_limit));
    limit = *parsed;
  }
  const auto endpoint = m_store.endpoint(id);
  if (!endpoint)
    return store_failed(response, "deliveries", endpoint.error());
  if (!*endpoint)
    return unknown(response, "endpoint", id);
  const auto records = m_store.deliveries(id, limit);
  if (!records)
    return store_failed(response, "deliveries", records.error());
  json list = json::array();
  for (const auto &record : *records)
    list.push_back(webhook::delivery_json(record, false));
  answer(response, 200, list);
}

void WebhookApi::recover(const util::HttpRequest &request,
                         util::HttpResponse &response) {
  const std::string id = request.matches[1];
  const auto body = parse_body(request);
  const auto now = Clock::now();
  if (!body.is_object())
    return fail(response, 400, "expected a JSON object");
  for (const auto &[key, value] : body.items()) {
    if (key != "since" && key != "until")
      return fail(response, 400, "unknown member " + util::quote(key));
  }
  if (!body.contains("since"))
    return fail(response, 400, "since: missing");
  const auto since = time_member("since", body["since"], now);
  if (!since)
    return fail(response, 400, since.error());
  auto until = tl::expected<TimePoint, std::string>(now);
  if (body.contains("until"))
    until = time_member("until", body["until"], now);
  if (!until)
    return fail(response, 400, until.error());
  if (*since >= *until)
    return fail(response, 400, "since: must be before until");
  const auto endpoint = m_store.endpoint(id);
  if (!endpoint)
    return store_failed(response, "recover", endpoint.error());
  if (!*endpoint)
    return unknown(response, "endpoint", id);
  const auto recovered = m_store.recover(id, *since, *until, now);
  if (!recovered)
    return store_failed(response, "recover", recovered.error());
  LOG_INFO("admin: webhook endpoint ", id, ": ", *recovered,
           " failed deliveries pending again");
  answer(response, 200, json{{"recovered", *recovered}});
  changed("recover", request, response.status,
          {{"endpoint_id", id},
           {"recovered", static_cast<std::uint64_t>(*recovered)}});
  endpoints_changed();
}

void WebhookApi::delivery(const util::HttpRequest &request,
                          util::HttpResponse &response) {
  const std::string id = request.matches[1];
  const auto record = m_store.delivery(id);
  if (!record)
    return store_failed(response, "delivery", record.error());
  if (!*record)
    return unknown(response, "delivery", id);
  answer(response, 200, webhook::delivery_json(**record, true));
}

void WebhookApi::redeliver(const util::HttpRequest &request,
                           util::HttpResponse &response) {
  const std::string id = request.matches[1];
  const auto done = m_store.redeliver(id, Clock::now());
  if (!done)
    return store_failed(response, "redeliver", done.error());
  if (!*done)
    return unknown(response, "delivery", id);
  LOG_INFO("admin: delivery ", id, " pending again");
  answer(response, 202, json{{"id", id}});
  changed("redeliver", request, response.status, {{"delivery_id", id}});
  endpoints_changed();
}

} // namespace dovewarden::admin
