#include "webhook/EndpointJson.hpp"

#include "filter/FilterExpression.hpp"
#include "filter/KnownNames.hpp"
#include "util/Duration.hpp"
#include "util/JsonTime.hpp"
#include "util/Strings.hpp"
#include "webhook/EndpointUrl.hpp"
#include "webhook/Signature.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <string_view>
#include <vector>

namespace dovewarden::webhook {

namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using util::unix_time;
using Error = tl::unexpected<std::string>;
using Applied = tl::expected<void, std::string>;

constexpr auto k_max_timeout = std::chrono::milliseconds(5min);
constexpr auto k_max_batch_wait = std::chrono::milliseconds(1min);
constexpr auto k_max_grace = std::chrono::milliseconds(24h * 30);
constexpr unsigned k_max_concurrency = 1000;
constexpr unsigned k_max_batch = 1000;
constexpr double k_max_rate = 1e6;
constexpr std::size_t k_max_text = 1024; // a glob, a description
constexpr std::size_t k_max_filter = 4096;

tl::expected<std::string, std::string>
text_member(const std::string &key, const json &value, std::size_t max) {
  if (!value.is_string())
    return Error(key + ": expected a string");
  auto text = value.get<std::string>();
  if (text.size() > max)
    return Error(key + ": longer than " + std::to_string(max) + " characters");
  if (util::has_control(text))
    return Error(key + ": contains control characters");
  return text;
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

tl::expected<bool, std::string> flag_member(const std::string &key,
                                            const json &value) {
  if (!value.is_boolean())
    return Error(key + ": expected true or false");
  return value.get<bool>();
}

// What a member's value is applied to.
struct Target {
  Endpoint &endpoint;
  EndpointExtras &extras;
  const AddressPolicy &policy;
};

// Applies the value of member key to target. Returns why it is refused.
using Member = Applied (*)(const std::string &key, const json &value,
                           Target &target);

Applied url(const std::string &, const json &value, Target &target) {
  if (!value.is_string())
    return Error("url: expected a string");
  return check_endpoint_url(value.get<std::string>(), target.policy)
      .map([&](std::string url) { target.endpoint.url = std::move(url); });
}

Applied events(const std::string &, const json &value, Target &target) {
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
    if (const auto unknown = filter::unknown_type_glob(*glob))
      return Error("events: " + *unknown);
    globs.push_back(*glob);
  }
  target.endpoint.event_types = std::move(globs);
  return {};
}

Applied filter(const std::string &key, const json &value, Target &target) {
  auto text = text_member(key, value, k_max_filter);
  if (!text)
    return Error(text.error());
  // only white space is no filter, as "" is
  if (util::trim(*text).empty())
    text->clear();
  // parsed, with the fields checked, once the whole body is applied
  target.endpoint.filter = std::move(*text);
  return {};
}

// The filter's syntax, and its fields against the event types the endpoint
// has once the whole body is applied: either may come from the body, or be
// the endpoint's already
Applied check_filter(const Endpoint &endpoint) {
  if (endpoint.filter.empty())
    return {};
  const auto parsed = filter::FilterExpression::parse(endpoint.filter);
  if (!parsed)
    return Error("filter: " + parsed.error().message());
  const bool dovecot_events =
      std::any_of(endpoint.event_types.begin(), endpoint.event_types.end(),
                  [](const std::string &glob) {
                    return filter::selects_dovecot_events(glob);
                  });
  for (const auto &field : (*parsed)->fields())
    if (const auto unknown = filter::unknown_field(field, dovecot_events))
      return Error("filter: " + *unknown);
  return {};
}

Applied description(const std::string &key, const json &value, Target &target) {
  return text_member(key, value, k_max_text).map([&](std::string text) {
    target.endpoint.description = std::move(text);
  });
}

Applied timeout(const std::string &key, const json &value, Target &target) {
  return duration_member(key, value, 1ms, k_max_timeout).map([&](auto timeout) {
    target.endpoint.timeout = timeout;
  });
}

Applied rate_limit(const std::string &, const json &value, Target &target) {
  if (!value.is_number() || !std::isfinite(value.get<double>()) ||
      value.get<double>() < 0 || value.get<double>() > k_max_rate)
    return Error("rate_limit: expected requests per second from 0 "
                 "(unlimited) to 1000000");
  target.endpoint.rate_limit = value.get<double>();
  return {};
}

Applied concurrency(const std::string &key, const json &value, Target &target) {
  return count_member(key, value, k_max_concurrency).map([&](unsigned count) {
    target.endpoint.concurrency = count;
  });
}

Applied batch_max(const std::string &key, const json &value, Target &target) {
  return count_member(key, value, k_max_batch).map([&](unsigned count) {
    target.endpoint.batch_max = count;
  });
}

Applied batch_wait(const std::string &key, const json &value, Target &target) {
  return duration_member(key, value, 0ms, k_max_batch_wait).map([&](auto wait) {
    target.endpoint.batch_wait = wait;
  });
}

Applied secret(const std::string &, const json &value, Target &target) {
  if (!value.is_string())
    return Error("secret: expected a string");
  const auto checked = check_secret(value.get<std::string>());
  if (!checked)
    return Error("secret: " + checked.error());
  target.extras.secret = value.get<std::string>();
  return {};
}

Applied enabled(const std::string &key, const json &value, Target &target) {
  return flag_member(key, value).map([&](bool on) {
    target.extras.enabled = on;
  });
}

Applied rotate_secret(const std::string &key, const json &value,
                      Target &target) {
  return flag_member(key, value).map([&](bool rotate) {
    target.extras.rotate = rotate;
  });
}

Applied grace(const std::string &key, const json &value, Target &target) {
  return duration_member(key, value, 0ms, k_max_grace).map([&](auto grace) {
    target.extras.grace = grace;
  });
}

using Members = std::map<std::string, Member, std::less<>>;

// the members of a POST body, and of a PATCH body
const Members k_members{
    {"url", url},
    {"events", events},
    {"filter", filter},
    {"description", description},
    {"timeout", timeout},
    {"rate_limit", rate_limit},
    {"concurrency", concurrency},
    {"batch_max", batch_max},
    {"batch_wait", batch_wait},
    {"secret", secret},
    {"enabled", enabled},
};
// the members only a PATCH body may have
const Members k_patch_members{
    {"rotate_secret", rotate_secret},
    {"grace", grace},
};

// Returns how the member key is applied, or nothing if it is unknown.
Member member(const std::string &key, bool patch) {
  if (const auto found = k_members.find(key); found != k_members.end())
    return found->second;
  if (const auto found = k_patch_members.find(key);
      patch && found != k_patch_members.end())
    return found->second;
  return nullptr;
}

} // namespace

json endpoint_json(const Endpoint &endpoint, bool with_secrets) {
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

tl::expected<EndpointExtras, std::string>
apply_endpoint_json(const json &body, Endpoint &endpoint,
                    const AddressPolicy &policy, bool patch) {
  if (!body.is_object())
    return Error("expected a JSON object");
  EndpointExtras extras;
  Target target{endpoint, extras, policy};
  for (const auto &[key, value] : body.items()) {
    const Member apply = member(key, patch);
    if (!apply)
      return Error("unknown member " + util::quote(key));
    if (auto applied = apply(key, value, target); !applied)
      return Error(applied.error());
  }
  if (extras.grace && !extras.rotate && !extras.secret)
    return Error("grace: only with rotate_secret or secret");
  if (body.contains("filter") || body.contains("events"))
    if (auto checked = check_filter(endpoint); !checked)
      return Error(checked.error());
  return extras;
}

} // namespace dovewarden::webhook
