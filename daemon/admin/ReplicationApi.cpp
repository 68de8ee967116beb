#include "admin/ReplicationApi.hpp"

#include "admin/Reply.hpp"
#include "store/ReplicationStore.hpp"
#include "util/Glob.hpp"
#include "util/HttpRouter.hpp"
#include "util/JsonTime.hpp"
#include "util/Logger.hpp"
#include "util/Strings.hpp"

#include <nlohmann/json.hpp>

#include <optional>
#include <set>

namespace dovewarden::admin {

namespace {

using nlohmann::json;
using store::TimePoint;
using util::has_control;
using util::unix_time;

json user_json(const store::UserRecord &record, TimePoint now) {
  return json{
      {"user", record.user},
      {"queued", record.queued},
      {"priority", store::priority_name(record.priority)},
      {"requested", record.queued ? unix_time(record.requested) : nullptr},
      {"full_requested", record.full_requested},
      {"last_fast_sync", unix_time(record.last_fast_sync)},
      {"last_full_sync", unix_time(record.last_full_sync)},
      {"last_success", unix_time(record.last_success)},
      {"failed", record.failed},
      {"failures", record.failures},
      {"last_error", record.last_error},
      {"next_attempt", unix_time(record.next_attempt)},
      {"running", !record.owner.empty() && record.lease_until > now},
  };
}

// Returns why a user name or mask cannot be one, before it reaches the
// store or a log line, or nothing.
std::optional<std::string> name_error(const std::string &what,
                                      std::string_view name) {
  if (name.size() > ReplicationApi::k_max_name)
    return what + " is longer than " +
           std::to_string(ReplicationApi::k_max_name) + " bytes";
  if (has_control(name))
    return what + " contains control characters";
  return std::nullopt;
}

bool has_wildcard(std::string_view mask) {
  return mask.find_first_of("*?") != std::string_view::npos;
}

tl::unexpected<std::string> invalid(std::string reason) {
  return tl::unexpected(std::move(reason));
}

} // namespace

tl::expected<ReplicateRequest, std::string>
parse_replicate(std::string_view body) {
  const auto parsed = json::parse(body, nullptr, false);
  if (parsed.is_discarded() || !parsed.is_object())
    return invalid("expected a JSON object");
  ReplicateRequest request;
  for (const auto &[key, value] : parsed.items()) {
    if (key == "mask" && value.is_string()) {
      request.mask = value.get<std::string>();
    } else if (key == "full" && value.is_boolean()) {
      request.full = value.get<bool>();
    } else if (key == "priority" && value.is_string()) {
      const auto priority = store::parse_priority(value.get<std::string>());
      if (!priority)
        return invalid("invalid priority " +
                       util::quote(value.get<std::string>()) +
                       ": expected none, low, high or sync");
      request.priority = *priority;
    } else if (key == "mask" || key == "full" || key == "priority") {
      return invalid("\"" + key + "\" has the wrong type");
    } else {
      return invalid("unknown member " + util::quote(key));
    }
  }
  if (request.mask.empty())
    return invalid("\"mask\" is missing or empty");
  if (const auto error = name_error("\"mask\"", request.mask))
    return invalid(*error);
  return request;
}

ReplicationApi::ReplicationApi(store::ReplicationStore &store,
                               UserLister list_users,
                               NoreplicateSummary noreplicate)
    : m_store(store), m_list_users(std::move(list_users)),
      m_noreplicate(std::move(noreplicate)) {}

void ReplicationApi::install(util::HttpRouter &router) {
  using util::HttpRequest;
  using util::HttpResponse;
  router.add("GET", "/v1/replication/status",
             [this](const HttpRequest &, HttpResponse &response) {
               status(response);
             });
  router.add("GET", "/v1/replication/users",
             [this](const HttpRequest &request, HttpResponse &response) {
               users(request, response);
             });
  router.add("POST", "/v1/replication/replicate",
             [this](const HttpRequest &request, HttpResponse &response) {
               replicate(request, response);
             });
  router.add("DELETE", "/v1/replication/users/{...}",
             [this](const HttpRequest &request, HttpResponse &response) {
               remove(request, response);
             });
}

void ReplicationApi::status(util::HttpResponse &response) {
  const auto status = m_store.status(store::Clock::now());
  if (!status)
    return store_failed(response, "status", status.error());
  json queued = json::object();
  for (int i = 0; i < store::k_priority_count; i++)
    queued[store::priority_name(static_cast<store::Priority>(i))] =
        status->queued[static_cast<std::size_t>(i)];
  json body{{"queued", queued},
            {"waiting", status->waiting},
            {"running", status->running},
            {"failed", status->failed},
            {"users", status->users}};
  if (m_noreplicate) {
    const auto skipped = m_noreplicate();
    body["noreplicate"] = {{"skipped", skipped.skipped},
                           {"recent", skipped.recent}};
  }
  answer(response, 200, body);
}

void ReplicationApi::users(const util::HttpRequest &request,
                           util::HttpResponse &response) {
  const auto mask = request.has_param("mask") ? request.param("mask") : "*";
  if (mask.empty())
    return fail(response, 400, "empty mask");
  if (const auto error = name_error("mask", mask))
    return fail(response, 400, *error);
  const auto records = m_store.users(mask);
  if (!records)
    return store_failed(response, "users", records.error());
  const auto now = store::Clock::now();
  json list = json::array();
  for (const auto &record : *records)
    list.push_back(user_json(record, now));
  answer(response, 200, list);
}

void ReplicationApi::replicate(const util::HttpRequest &request,
                               util::HttpResponse &response) {
  const auto parsed = parse_replicate(request.body);
  if (!parsed)
    return fail(response, 400, parsed.error());
  const auto users = expand(parsed->mask);
  if (!users)
    return store_failed(response, "replicate", users.error());
  const auto now = store::Clock::now();
  std::vector<store::SyncRequest> requests;
  requests.reserve(users->size());
  for (const auto &user : *users) {
    store::SyncRequest sync;
    sync.user = user;
    sync.priority = parsed->priority;
    sync.requested = now;
    sync.full = parsed->full;
    requests.push_back(std::move(sync));
  }
  if (!requests.empty()) {
    const auto queued = m_store.enqueue(requests);
    if (!queued)
      return store_failed(response, "replicate", queued.error());
  }
  LOG_INFO("admin: replicate ", util::quote(parsed->mask), " priority ",
           store::priority_name(parsed->priority), parsed->full ? " full" : "",
           ": ", requests.size(), " users queued");
  answer(response, 200, json{{"queued", requests.size()}});
  changed("replicate", request, response.status,
          {{"mask", parsed->mask},
           {"priority", std::string(store::priority_name(parsed->priority))},
           {"full", parsed->full},
           {"queued", static_cast<std::uint64_t>(requests.size())}});
}

void ReplicationApi::remove(const util::HttpRequest &request,
                            util::HttpResponse &response) {
  const std::string user = request.matches[1];
  if (const auto error = name_error("user", user))
    return fail(response, 400, *error);
  const auto removed = m_store.remove(user);
  if (!removed)
    return store_failed(response, "remove", removed.error());
  if (!*removed)
    return fail(response, 404, "unknown user " + util::quote(user));
  LOG_INFO("admin: removed user ", util::quote(user));
  response.status = 204;
  changed("remove_user", request, response.status, {{"user", user}});
}

tl::expected<std::vector<std::string>, std::string>
ReplicationApi::expand(const std::string &mask) {
  if (!has_wildcard(mask))
    return std::vector<std::string>{mask};
  std::set<std::string> users;
  const auto known = m_store.users(mask);
  if (!known)
    return tl::unexpected(known.error().message);
  for (const auto &record : *known)
    users.insert(record.user);
  if (m_list_users) {
    const auto listed = m_list_users();
    if (!listed)
      return tl::unexpected("cannot list users: " + listed.error());
    for (const auto &user : *listed) {
      if (util::glob_match(mask, user))
        users.insert(user);
    }
  }
  return std::vector<std::string>(users.begin(), users.end());
}

} // namespace dovewarden::admin
