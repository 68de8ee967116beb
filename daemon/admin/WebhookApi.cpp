#include "admin/WebhookApi.hpp"

#include "admin/Reply.hpp"
#include "core/Event.hpp"
#include "filter/FilterExpression.hpp"
#include "util/Duration.hpp"
#include "util/Logger.hpp"
#include "util/Random.hpp"
#include "util/Strings.hpp"
#include "util/Time.hpp"
#include "webhook/AddressPolicy.hpp"
#include "webhook/Payload.hpp"
#include "webhook/Signature.hpp"
#include "webhook/WebhookStore.hpp"

#include <httplib.h>
#include <nlohmann/json.hpp>

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>

#include <cmath>
#include <ctime>
#include <memory>
#include <optional>

namespace dovewarden::admin {

namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using util::has_control;
using util::unix_time;
using webhook::Clock;
using webhook::TimePoint;

constexpr auto k_max_timeout = std::chrono::milliseconds(5min);
constexpr auto k_max_batch_wait = std::chrono::milliseconds(1min);
constexpr auto k_default_grace = std::chrono::milliseconds(24h);
constexpr auto k_max_grace = std::chrono::milliseconds(24h * 30);
constexpr unsigned k_max_concurrency = 1000;
constexpr unsigned k_max_batch = 1000;
constexpr double k_max_rate = 1e6;
constexpr std::size_t k_max_text = 1024; // a URL, a glob, a description
constexpr std::size_t k_max_filter = 4096;
constexpr std::uint64_t k_default_limit = 20;
constexpr std::uint64_t k_max_limit = 1000;

using Error = tl::unexpected<std::string>;

void unknown(httplib::Response &response, const char *what,
             const std::string &id) {
  fail(response, 404, std::string("unknown ") + what + " " + util::quote(id));
}

json endpoint_json(const webhook::Endpoint &endpoint, bool with_secrets) {
  json body{
      {"id", endpoint.id},
      {"url", endpoint.url},
      {"events", endpoint.event_types},
      {"filter", endpoint.filter},
      {"description", endpoint.description},
      {"timeout", util::format_duration(endpoint.timeout)},
      {"rate_limit", endpoint.rate_limit},
      {"concurrency", endpoint.concurrency},
      {"batch_max", endpoint.batch_max},
      {"batch_wait", util::format_duration(endpoint.batch_wait)},
      {"enabled", endpoint.enabled},
      {"disabled_reason", endpoint.disabled_reason},
      {"created", unix_time(endpoint.created)},
      {"updated", unix_time(endpoint.updated)},
      {"failing_since", unix_time(endpoint.failing_since)},
  };
  if (with_secrets) {
    json secrets = json::array();
    for (const auto &secret : endpoint.secrets)
      secrets.push_back(
          {{"secret", secret.value}, {"expires", unix_time(secret.expires)}});
    body["secrets"] = secrets;
    if (!endpoint.secrets.empty())
      body["secret"] = endpoint.secrets.front().value; // the current one
  }
  return body;
}

const char *state_name(webhook::DeliveryState state) {
  switch (state) {
  case webhook::DeliveryState::pending:
    return "pending";
  case webhook::DeliveryState::succeeded:
    return "succeeded";
  case webhook::DeliveryState::failed:
    return "failed";
  }
  return "unknown";
}

json delivery_json(const webhook::DeliveryRecord &record, bool with_body) {
  const auto &delivery = record.delivery;
  const bool pending = delivery.state == webhook::DeliveryState::pending;
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

// --- validation ---

using Url = std::unique_ptr<CURLU, decltype(&curl_url_cleanup)>;

// Returns part of url, "" if it has none.
std::string url_part(CURLU *url, CURLUPart part) {
  char *text = nullptr;
  if (curl_url_get(url, part, &text, 0) != CURLUE_OK || text == nullptr)
    return "";
  std::string value(text);
  curl_free(text);
  return value;
}

// Returns why host, if it is a literal address, may not be dialled.
std::optional<std::string> literal_refusal(const webhook::AddressPolicy &policy,
                                           std::string host) {
  if (host.size() > 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  sockaddr_in v4{};
  v4.sin_family = AF_INET;
  if (::inet_pton(AF_INET, host.c_str(), &v4.sin_addr) == 1)
    return policy.refusal(reinterpret_cast<const sockaddr &>(v4), sizeof(v4));
  sockaddr_in6 v6{};
  v6.sin6_family = AF_INET6;
  if (::inet_pton(AF_INET6, host.c_str(), &v6.sin6_addr) == 1)
    return policy.refusal(reinterpret_cast<const sockaddr &>(v6), sizeof(v6));
  return std::nullopt;
}

// Returns the URL as libcurl will use it (numeric hosts in their usual
// form, so that the check sees what is dialled), or why it is refused.
tl::expected<std::string, std::string>
check_url(const std::string &text, const webhook::AddressPolicy &policy) {
  if (text.size() > k_max_text)
    return Error("url: longer than " + std::to_string(k_max_text) +
                 " characters");
  Url url(curl_url(), &curl_url_cleanup);
  if (!url)
    return Error("url: cannot parse now");
  const auto parsed = curl_url_set(url.get(), CURLUPART_URL, text.c_str(),
                                   CURLU_NON_SUPPORT_SCHEME);
  if (parsed != CURLUE_OK)
    return Error("url: " + std::string(curl_url_strerror(parsed)));
  const auto scheme = url_part(url.get(), CURLUPART_SCHEME);
  if (scheme != "http" && scheme != "https")
    return Error("url: expected an http or https URL");
  const auto host = url_part(url.get(), CURLUPART_HOST);
  if (host.empty())
    return Error("url: no host");
  if (const auto refusal = literal_refusal(policy, host))
    return Error("url: " + *refusal +
                 " (DOVEWARDEN_WEBHOOK_ALLOW_NETS allows it)");
  return url_part(url.get(), CURLUPART_URL);
}

tl::expected<std::string, std::string>
text_member(const std::string &key, const json &value, std::size_t max) {
  if (!value.is_string())
    return Error(key + ": expected a string");
  auto text = value.get<std::string>();
  if (text.size() > max)
    return Error(key + ": longer than " + std::to_string(max) + " characters");
  if (has_control(text))
    return Error(key + ": contains control characters");
  return text;
}

tl::expected<std::vector<std::string>, std::string>
events_member(const json &value) {
  if (!value.is_array() || value.empty())
    return Error("events: expected a non-empty array of type globs");
  std::vector<std::string> globs;
  for (const auto &item : value) {
    const auto glob = text_member("events", item, k_max_text);
    if (!glob)
      return Error(glob.error());
    if (glob->empty() || glob->find_first_of(" \t") != std::string::npos)
      return Error("events: " + util::quote(*glob) +
                   " is not a type glob (e.g. message.*)");
    globs.push_back(*glob);
  }
  return globs;
}

// Returns the duration of a member "500ms", "15s" … between min and max.
tl::expected<std::chrono::milliseconds, std::string>
duration_member(const std::string &key, const json &value,
                std::chrono::milliseconds min, std::chrono::milliseconds max) {
  if (!value.is_string())
    return Error(key + ": expected a duration such as \"15s\"");
  const auto duration = util::parse_duration(value.get<std::string>());
  if (!duration)
    return Error(key + ": " + duration.error());
  if (*duration < min || *duration > max)
    return Error(key + ": must be from " + util::format_duration(min) + " to " +
                 util::format_duration(max));
  return *duration;
}

tl::expected<unsigned, std::string>
count_member(const std::string &key, const json &value, unsigned max) {
  if (!value.is_number_unsigned() || value.get<std::uint64_t>() < 1 ||
      value.get<std::uint64_t>() > max)
    return Error(key + ": expected a whole number from 1 to " +
                 std::to_string(max));
  return value.get<unsigned>();
}

// What a POST or PATCH body asks for beyond the endpoint's own members.
struct Extras {
  std::optional<std::string> secret;
  std::optional<bool> enabled;
  bool rotate = false;
  std::optional<std::chrono::milliseconds> grace;
};

// Applies the body's members to endpoint. Returns the extras, or the first
// member refused and why.
tl::expected<Extras, std::string> apply(const json &body,
                                        webhook::Endpoint &endpoint,
                                        const webhook::AddressPolicy &policy,
                                        bool patch) {
  if (!body.is_object())
    return Error("expected a JSON object");
  Extras extras;
  for (const auto &[key, value] : body.items()) {
    if (key == "url") {
      if (!value.is_string())
        return Error("url: expected a string");
      auto url = check_url(value.get<std::string>(), policy);
      if (!url)
        return Error(url.error());
      endpoint.url = std::move(*url);
    } else if (key == "events") {
      auto globs = events_member(value);
      if (!globs)
        return Error(globs.error());
      endpoint.event_types = std::move(*globs);
    } else if (key == "filter") {
      auto filter = text_member(key, value, k_max_filter);
      if (!filter)
        return Error(filter.error());
      // only white space is no filter, as "" is
      if (util::trim(*filter).empty())
        filter->clear();
      if (!filter->empty()) {
        const auto parsed = filter::FilterExpression::parse(*filter);
        if (!parsed)
          return Error("filter: " + parsed.error().message());
      }
      endpoint.filter = std::move(*filter);
    } else if (key == "description") {
      auto description = text_member(key, value, k_max_text);
      if (!description)
        return Error(description.error());
      endpoint.description = std::move(*description);
    } else if (key == "timeout") {
      const auto timeout = duration_member(key, value, 1ms, k_max_timeout);
      if (!timeout)
        return Error(timeout.error());
      endpoint.timeout = *timeout;
    } else if (key == "rate_limit") {
      if (!value.is_number() || !std::isfinite(value.get<double>()) ||
          value.get<double>() < 0 || value.get<double>() > k_max_rate)
        return Error("rate_limit: expected requests per second from 0 "
                     "(unlimited) to 1000000");
      endpoint.rate_limit = value.get<double>();
    } else if (key == "concurrency") {
      const auto count = count_member(key, value, k_max_concurrency);
      if (!count)
        return Error(count.error());
      endpoint.concurrency = *count;
    } else if (key == "batch_max") {
      const auto count = count_member(key, value, k_max_batch);
      if (!count)
        return Error(count.error());
      endpoint.batch_max = *count;
    } else if (key == "batch_wait") {
      const auto wait = duration_member(key, value, 0ms, k_max_batch_wait);
      if (!wait)
        return Error(wait.error());
      endpoint.batch_wait = *wait;
    } else if (key == "secret") {
      if (!value.is_string())
        return Error("secret: expected a string");
      const auto checked = webhook::check_secret(value.get<std::string>());
      if (!checked)
        return Error("secret: " + checked.error());
      extras.secret = value.get<std::string>();
    } else if (key == "enabled") {
      if (!value.is_boolean())
        return Error("enabled: expected true or false");
      extras.enabled = value.get<bool>();
    } else if (patch && key == "rotate_secret") {
      if (!value.is_boolean())
        return Error("rotate_secret: expected true or false");
      extras.rotate = value.get<bool>();
    } else if (patch && key == "grace") {
      const auto grace = duration_member(key, value, 0ms, k_max_grace);
      if (!grace)
        return Error(grace.error());
      extras.grace = *grace;
    } else {
      return Error("unknown member " + util::quote(key));
    }
  }
  if (extras.grace && !extras.rotate && !extras.secret)
    return Error("grace: only with rotate_secret or secret");
  return extras;
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
// ("2024-05-01T12:00:00Z", "…+02:00", fractions ignored) or a duration ago
// ("2h").
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
  std::tm tm{};
  char separator = 0;
  int consumed = 0;
  if (std::sscanf(text.c_str(), "%4d-%2d-%2d%c%2d:%2d:%2d%n", &tm.tm_year,
                  &tm.tm_mon, &tm.tm_mday, &separator, &tm.tm_hour, &tm.tm_min,
                  &tm.tm_sec, &consumed) != 7 ||
      consumed != 19 ||
      (separator != 'T' && separator != 't' && separator != ' '))
    return Error(expected);
  std::string_view rest(text);
  rest.remove_prefix(19);
  if (!rest.empty() && rest.front() == '.') {
    rest.remove_prefix(1);
    while (!rest.empty() && rest.front() >= '0' && rest.front() <= '9')
      rest.remove_prefix(1);
  }
  long offset = 0;
  if (rest == "Z" || rest == "z") {
    offset = 0;
  } else if (rest.size() == 6 && (rest[0] == '+' || rest[0] == '-') &&
             rest[3] == ':') {
    const auto hours = util::parse_unsigned(rest.substr(1, 2), 23);
    const auto minutes = util::parse_unsigned(rest.substr(4, 2), 59);
    if (!hours || !minutes)
      return Error(expected);
    offset = static_cast<long>(*hours * 3600 + *minutes * 60);
    if (rest[0] == '-')
      offset = -offset;
  } else {
    return Error(expected);
  }
  if (tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 || tm.tm_mday > 31 ||
      tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 60)
    return Error(expected);
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  const std::time_t seconds = ::timegm(&tm);
  return TimePoint(std::chrono::seconds(seconds - offset));
}

json parse_body(const httplib::Request &request) {
  return json::parse(request.body, nullptr, false);
}

bool wants_secrets(const httplib::Request &request) {
  const auto value = request.get_param_value("secrets");
  return value == "1" || value == "true";
}

// Returns the endpoint's host for log lines: URLs may carry credentials.
std::string log_host(const std::string &text) {
  Url url(curl_url(), &curl_url_cleanup);
  if (!url ||
      curl_url_set(url.get(), CURLUPART_URL, text.c_str(), 0) != CURLUE_OK)
    return "?";
  return url_part(url.get(), CURLUPART_HOST);
}

} // namespace

WebhookApi::WebhookApi(webhook::WebhookStore &store,
                       const webhook::AddressPolicy &policy,
                       std::function<void()> on_change)
    : m_store(store), m_policy(policy), m_on_change(std::move(on_change)) {}

void WebhookApi::install(httplib::Server &server) {
  using Request = httplib::Request;
  using Response = httplib::Response;
  server.Post("/v1/webhooks",
              [this](const Request &request, Response &response) {
                create(request, response);
              });
  server.Get("/v1/webhooks",
             [this](const Request &, Response &response) { list(response); });
  server.Get("/v1/webhooks/([^/]+)",
             [this](const Request &request, Response &response) {
               show(request, response);
             });
  server.Patch("/v1/webhooks/([^/]+)",
               [this](const Request &request, Response &response) {
                 update(request, response);
               });
  server.Delete("/v1/webhooks/([^/]+)",
                [this](const Request &request, Response &response) {
                  remove(request, response);
                });
  server.Post("/v1/webhooks/([^/]+)/test",
              [this](const Request &request, Response &response) {
                test(request, response);
              });
  server.Get("/v1/webhooks/([^/]+)/deliveries",
             [this](const Request &request, Response &response) {
               deliveries(request, response);
             });
  server.Post("/v1/webhooks/([^/]+)/recover",
              [this](const Request &request, Response &response) {
                recover(request, response);
              });
  server.Get("/v1/deliveries/([^/]+)",
             [this](const Request &request, Response &response) {
               delivery(request, response);
             });
  server.Post("/v1/deliveries/([^/]+)/redeliver",
              [this](const Request &request, Response &response) {
                redeliver(request, response);
              });
}

void WebhookApi::changed() const {
  if (m_on_change)
    m_on_change();
}

void WebhookApi::create(const httplib::Request &request,
                        httplib::Response &response) {
  const auto body = parse_body(request);
  if (body.is_object() && (!body.contains("url") || !body.contains("events")))
    return fail(response, 400,
                body.contains("url") ? "events: missing" : "url: missing");
  const auto now = Clock::now();
  webhook::Endpoint endpoint;
  const auto extras = apply(body, endpoint, m_policy, false);
  if (!extras)
    return fail(response, 400, extras.error());
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
               log_host(endpoint.url));
      answer(response, 201, endpoint_json(endpoint, true));
      return changed();
    }
  }
  store_failed(response, "create endpoint", "endpoint id taken");
}

void WebhookApi::list(httplib::Response &response) {
  const auto endpoints = m_store.endpoints();
  if (!endpoints)
    return store_failed(response, "list endpoints", endpoints.error());
  json list = json::array();
  for (const auto &endpoint : *endpoints)
    list.push_back(endpoint_json(endpoint, false));
  answer(response, 200, list);
}

void WebhookApi::show(const httplib::Request &request,
                      httplib::Response &response) {
  const std::string id = request.matches[1];
  const auto endpoint = m_store.endpoint(id);
  if (!endpoint)
    return store_failed(response, "endpoint", endpoint.error());
  if (!*endpoint)
    return unknown(response, "endpoint", id);
  answer(response, 200, endpoint_json(**endpoint, wants_secrets(request)));
}

void WebhookApi::update(const httplib::Request &request,
                        httplib::Response &response) {
  const std::string id = request.matches[1];
  std::lock_guard lock(m_update_mutex);
  const auto found = m_store.endpoint(id);
  if (!found)
    return store_failed(response, "update endpoint", found.error());
  if (!*found)
    return unknown(response, "endpoint", id);
  auto endpoint = **found;
  const auto extras = apply(parse_body(request), endpoint, m_policy, true);
  if (!extras)
    return fail(response, 400, extras.error());
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
  answer(response, 200,
         endpoint_json(endpoint, rotated || wants_secrets(request)));
  changed();
}

void WebhookApi::remove(const httplib::Request &request,
                        httplib::Response &response) {
  const std::string id = request.matches[1];
  const auto removed = m_store.remove_endpoint(id);
  if (!removed)
    return store_failed(response, "remove endpoint", removed.error());
  if (!*removed)
    return unknown(response, "endpoint", id);
  LOG_INFO("admin: webhook endpoint ", id, " removed");
  response.status = 204;
  changed();
}

void WebhookApi::test(const httplib::Request &request,
                      httplib::Response &response) {
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
  changed();
}

void WebhookApi::deliveries(const httplib::Request &request,
                            httplib::Response &response) {
  const std::string id = request.matches[1];
  std::uint64_t limit = k_default_limit;
  if (request.has_param("limit")) {
    const auto parsed =
        util::parse_unsigned(request.get_param_value("limit"), k_max_limit);
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
    list.push_back(delivery_json(record, false));
  answer(response, 200, list);
}

void WebhookApi::recover(const httplib::Request &request,
                         httplib::Response &response) {
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
  changed();
}

void WebhookApi::delivery(const httplib::Request &request,
                          httplib::Response &response) {
  const std::string id = request.matches[1];
  const auto record = m_store.delivery(id);
  if (!record)
    return store_failed(response, "delivery", record.error());
  if (!*record)
    return unknown(response, "delivery", id);
  answer(response, 200, delivery_json(**record, true));
}

void WebhookApi::redeliver(const httplib::Request &request,
                           httplib::Response &response) {
  const std::string id = request.matches[1];
  const auto done = m_store.redeliver(id, Clock::now());
  if (!done)
    return store_failed(response, "redeliver", done.error());
  if (!*done)
    return unknown(response, "delivery", id);
  LOG_INFO("admin: delivery ", id, " pending again");
  answer(response, 202, json{{"id", id}});
  changed();
}

} // namespace dovewarden::admin
