#include "admin/AuditApi.hpp"

#include "admin/Reply.hpp"
#include "audit/AuditStore.hpp"
#include "audit/RecordJson.hpp"
#include "audit/Verifier.hpp"
#include "util/Duration.hpp"
#include "util/HttpRouter.hpp"
#include "util/Logger.hpp"
#include "util/Strings.hpp"
#include "util/Time.hpp"

#include <nlohmann/json.hpp>
#include <tl/expected.hpp>

#include <chrono>
#include <limits>
#include <stdexcept>
#include <string_view>

namespace dovewarden::admin {

namespace {

using nlohmann::json;
using Error = tl::unexpected<std::string>;

audit::CheckpointVerifier parse_key(const std::string &verifier_key) {
  auto key = audit::CheckpointVerifier::parse(verifier_key);
  if (!key)
    throw std::invalid_argument("audit verifier key: " + key.error());
  return std::move(*key);
}

std::int64_t now_micros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Refuses any parameter but those allowed: a misspelt filter must not
// widen a query silently.
tl::expected<void, std::string>
known_params(const util::HttpRequest &request,
             std::initializer_list<std::string_view> allowed) {
  for (const auto &[name, value] : request.params) {
    bool known = false;
    for (const auto candidate : allowed)
      known = known || name == candidate;
    if (!known)
      return Error("unknown parameter " + util::quote(name));
  }
  return {};
}

tl::expected<std::uint64_t, std::string>
unsigned_param(const util::HttpRequest &request, const char *name,
               std::uint64_t fallback, std::uint64_t min, std::uint64_t max) {
  if (!request.has_param(name))
    return fallback;
  const auto parsed = util::parse_unsigned(request.param(name), max);
  if (!parsed || *parsed < min)
    return Error(std::string(name) + ": expected a whole number from " +
                 std::to_string(min) + " to " + std::to_string(max));
  return *parsed;
}

tl::expected<std::string, std::string>
filter_param(const util::HttpRequest &request, const char *name) {
  auto value = request.param(name);
  if (value.size() > AuditApi::k_max_filter)
    return Error(std::string(name) + ": longer than " +
                 std::to_string(AuditApi::k_max_filter) + " bytes");
  if (util::has_control(value))
    return Error(std::string(name) + ": contains control characters");
  return value;
}

// Returns a time parameter in µs: RFC 3339, Unix seconds or a duration ago.
tl::expected<std::optional<std::int64_t>, std::string>
time_param(const util::HttpRequest &request, const char *name,
           std::int64_t now) {
  if (!request.has_param(name))
    return std::nullopt;
  const auto text = request.param(name);
  if (const auto micros = util::parse_rfc3339_micros(text))
    return micros;
  if (const auto micros = util::parse_unix_micros(text))
    return micros;
  if (const auto ago = util::parse_duration(text))
    return now -
           std::chrono::duration_cast<std::chrono::microseconds>(*ago).count();
  return Error(std::string(name) +
               ": expected an RFC 3339 time (2026-05-01T12:00:00Z), Unix "
               "seconds or a duration ago (2h)");
}

// Returns the query the parameters of GET /v1/audit/records ask for.
tl::expected<audit::Query, std::string>
parse_query(const util::HttpRequest &request) {
  if (auto known =
          known_params(request, {"user", "type", "since", "until", "mailbox",
                                 "ip", "msgid", "after", "limit", "details"});
      !known)
    return Error(known.error());
  audit::Query query;
  for (auto [name, field] : {std::pair{"user", &query.user},
                             {"type", &query.operation},
                             {"mailbox", &query.mailbox},
                             {"ip", &query.ip},
                             {"msgid", &query.msgid}}) {
    auto value = filter_param(request, name);
    if (!value)
      return Error(value.error());
    *field = std::move(*value);
  }
  const auto star = query.operation.find('*');
  if (star != std::string::npos && star + 1 != query.operation.size())
    return Error("type: '*' may only end it (message.*)");
  if (query.operation == "*")
    query.operation.clear();
  const auto now = now_micros();
  auto since = time_param(request, "since", now);
  if (!since)
    return Error(since.error());
  auto until = time_param(request, "until", now);
  if (!until)
    return Error(until.error());
  if (*since && *until && **since >= **until)
    return Error("since: not before until");
  query.since = *since;
  query.until = *until;
  const auto after = unsigned_param(request, "after", 0, 0,
                                    std::numeric_limits<std::uint64_t>::max());
  if (!after)
    return Error(after.error());
  query.after = *after;
  const auto limit = unsigned_param(request, "limit", AuditApi::k_default_limit,
                                    1, AuditApi::k_max_limit);
  if (!limit)
    return Error(limit.error());
  query.limit = *limit;
  return query;
}

tl::expected<audit::DetailsForm, std::string>
details_param(const util::HttpRequest &request) {
  const auto form = request.param("details");
  if (form.empty() || form == "object")
    return audit::DetailsForm::object;
  if (form == "text")
    return audit::DetailsForm::text;
  return Error("details: expected object or text");
}

json checkpoint_or_null(const std::optional<audit::Checkpoint> &checkpoint) {
  return checkpoint ? audit::checkpoint_json(*checkpoint) : json(nullptr);
}

} // namespace

AuditApi::AuditApi(audit::AuditStore &store, const std::string &verifier_key,
                   prometheus::Registry &registry)
    : m_store(store), m_verifier_key(verifier_key),
      m_key(parse_key(verifier_key)) {
  auto &family = prometheus::BuildCounter()
                     .Name("dovewarden_audit_verifications_total")
                     .Help("Audit log verifications through the admin API, "
                           "by result (ok or the damage found)")
                     .Register(registry);
  for (std::size_t i = 0; i < k_results.size(); i++)
    m_verifications[i] = &family.Add({{"result", k_results[i]}});
}

void AuditApi::install(util::HttpRouter &router) {
  using util::HttpRequest;
  using util::HttpResponse;
  router.add("GET", "/v1/audit/records",
             [this](const HttpRequest &request, HttpResponse &response) {
               records(request, response);
             });
  router.add("GET", "/v1/audit/checkpoints",
             [this](const HttpRequest &request, HttpResponse &response) {
               checkpoints(request, response);
             });
  router.add("GET", "/v1/audit/head",
             [this](const HttpRequest &request, HttpResponse &response) {
               if (auto known = known_params(request, {}); !known)
                 return fail(response, 400, known.error());
               head(response);
             });
  router.add("GET", "/v1/audit/verify",
             [this](const HttpRequest &request, HttpResponse &response) {
               if (auto known = known_params(request, {}); !known)
                 return fail(response, 400, known.error());
               verify(response);
             });
}

void AuditApi::records(const util::HttpRequest &request,
                       util::HttpResponse &response) {
  const auto query = parse_query(request);
  if (!query)
    return fail(response, 400, query.error());
  const auto form = details_param(request);
  if (!form)
    return fail(response, 400, form.error());
  const auto records = m_store.query(*query);
  if (!records)
    return store_failed(response, "audit records", records.error());
  json list = json::array();
  for (const auto &record : *records)
    list.push_back(audit::record_json(record, *form));
  const bool more = records->size() == query->limit;
  answer(response, 200,
         json{{"records", std::move(list)},
              {"next", more ? json(records->back().seq) : json(nullptr)}});
}

void AuditApi::checkpoints(const util::HttpRequest &request,
                           util::HttpResponse &response) {
  if (auto known = known_params(request, {"after", "limit"}); !known)
    return fail(response, 400, known.error());
  const auto after = unsigned_param(request, "after", 0, 0,
                                    std::numeric_limits<std::uint64_t>::max());
  if (!after)
    return fail(response, 400, after.error());
  const auto limit =
      unsigned_param(request, "limit", k_default_limit, 1, k_max_limit);
  if (!limit)
    return fail(response, 400, limit.error());
  const auto base = m_store.base();
  if (!base)
    return store_failed(response, "audit checkpoints", base.error());
  const auto checkpoints = m_store.checkpoints(*after, *limit);
  if (!checkpoints)
    return store_failed(response, "audit checkpoints", checkpoints.error());
  json list = json::array();
  for (const auto &checkpoint : *checkpoints)
    list.push_back(audit::checkpoint_json(checkpoint));
  const bool more = checkpoints->size() == *limit;
  answer(response, 200,
         json{{"origin", m_store.chain()},
              {"key", m_verifier_key},
              {"base", checkpoint_or_null(*base)},
              {"checkpoints", std::move(list)},
              {"next", more ? json(checkpoints->back().size) : json(nullptr)}});
}

void AuditApi::head(util::HttpResponse &response) {
  const auto head = m_store.head();
  if (!head)
    return store_failed(response, "audit head", head.error());
  const auto latest = m_store.latest_checkpoint();
  if (!latest)
    return store_failed(response, "audit head", latest.error());
  answer(response, 200,
         json{{"origin", m_store.chain()},
              {"seq", head->seq},
              {"hash", head->hash},
              {"checkpoint", checkpoint_or_null(*latest)}});
}

void AuditApi::verify(util::HttpResponse &response) {
  const std::unique_lock running(m_verify_mutex, std::try_to_lock);
  if (!running.owns_lock())
    return fail(response, 409, "a verification is running");
  audit::VerifyInput input;
  input.origin = m_store.chain();
  const auto base = m_store.base();
  if (!base)
    return store_failed(response, "audit verify", base.error());
  input.base = *base;
  // those of removed records too: their signatures can still be checked
  std::uint64_t after = 0;
  for (;;) {
    const auto page = m_store.checkpoints(after, k_max_limit);
    if (!page)
      return store_failed(response, "audit verify", page.error());
    input.checkpoints.insert(input.checkpoints.end(), page->begin(),
                             page->end());
    if (page->size() < k_max_limit)
      break;
    after = page->back().size;
  }
  input.pages = [this](std::uint64_t after_seq, std::size_t limit)
      -> tl::expected<std::vector<audit::Record>, std::string> {
    audit::Query query;
    query.after = after_seq;
    query.limit = limit;
    auto records = m_store.query(query);
    if (!records)
      return Error(records.error().message);
    return std::move(*records);
  };
  const auto report = audit::verify(input, m_key);
  const std::string result =
      report.ok() ? "ok" : audit::damage_name(report.damage);
  count(result);
  if (report.ok())
    LOG_INFO("admin: audit verify: OK, ", report.records, " records, ",
             report.checkpoints, " checkpoints");
  else
    LOG_WARN("admin: audit verify: ", result, " at ", report.seq, ": ",
             report.message);
  answer(response, 200, audit::report_json(report, input.origin));
}

void AuditApi::count(const std::string &result) {
  for (std::size_t i = 0; i < k_results.size(); i++)
    if (result == k_results[i])
      m_verifications[i]->Increment();
}

} // namespace dovewarden::admin
