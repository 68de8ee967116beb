#include "audit/RecordMapping.hpp"

#include "core/EventJson.hpp"
#include "util/Time.hpp"
#include "util/Utf8.hpp"

#include <algorithm>
#include <array>
#include <limits>
#include <string_view>

namespace dovewarden::audit {

namespace {

constexpr std::string_view k_daemon_service = "dovewardend";

// the fields a record holds in columns of their own; the rest go to details
constexpr std::array<std::string_view, 11> k_plugin_columns{
    "ts",      "user", "ip",    "port",         "session",    "svc",
    "mailbox", "uid",  "msgid", "mailbox_guid", "uidvalidity"};

std::uint32_t u32(const wire::Message &message, std::string_view key) {
  const auto value = core::unsigned_field(message, key);
  if (!value || *value > std::numeric_limits<std::uint32_t>::max())
    return 0;
  return static_cast<std::uint32_t>(*value);
}

// A column's text as it will read back from JSON, so that an export
// verifies off the host: the sender chooses these bytes.
std::string text(const wire::Message &message, std::string_view key) {
  return util::to_valid_utf8(message.str(key));
}

bool is_admin(const core::Event &event) {
  return event.type().rfind("admin.", 0) == 0;
}

bool from_daemon(const core::Event &event) { return event.source == "daemon"; }

std::string actor_of(const core::Event &event) {
  const auto &message = event.message;
  if (is_admin(event))
    return text(message, "actor");
  if (from_daemon(event))
    return "daemon";
  const auto origin = message.str("origin");
  if (origin == "dsync" || origin == "delivery")
    return std::string(origin);
  if (message.str("svc") == "doveadm")
    return "doveadm";
  return text(message, "user");
}

std::string outcome_of(const core::Event &event) {
  if (event.type() == "replication.failed")
    return "failed";
  if (event.type() == "events.lost")
    return "lost";
  return "ok";
}

// Returns whether key is held by a column of record rather than details.
bool in_column(const core::Event &event, const Record &record,
               std::string_view key) {
  if (from_daemon(event) && key == "svc")
    return false; // the service is the daemon; the process it names stays
  if (is_admin(event) && key == "actor")
    return true;
  if (!record.inst.empty() && (key == "inst" || key == "seq"))
    return true;
  return std::find(k_plugin_columns.begin(), k_plugin_columns.end(), key) !=
         k_plugin_columns.end();
}

} // namespace

std::optional<std::uint64_t> event_seq(const core::Event &event) {
  auto seq = core::unsigned_field(event.message, "seq");
  if (seq && *seq == 0)
    return std::nullopt;
  return seq;
}

Record to_record(const core::Event &event) {
  const auto &message = event.message;
  Record record;
  record.operation = util::to_valid_utf8(event.type());
  record.time = message.integer("ts", util::unix_micros(event.received));
  record.user = text(message, "user");
  record.actor = actor_of(event);
  record.ip = text(message, "ip");
  record.port = u32(message, "port");
  record.session = text(message, "session");
  record.service =
      from_daemon(event) ? std::string(k_daemon_service) : text(message, "svc");
  record.mailbox = text(message, "mailbox");
  record.mailbox_guid = text(message, "mailbox_guid");
  record.uid = u32(message, "uid");
  record.uidvalidity = u32(message, "uidvalidity");
  record.msgid = text(message, "msgid");
  record.outcome = outcome_of(event);
  const auto seq = event_seq(event);
  if (!from_daemon(event) && seq && !message.str("inst").empty()) {
    record.inst = text(message, "inst");
    record.event_seq = *seq;
  }
  core::Json details = core::Json::object();
  for (const auto &field : message.fields) {
    if (!in_column(event, record, field.key))
      details[field.key] = core::to_json(field.value);
  }
  record.details = core::dump(details);
  return record;
}

} // namespace dovewarden::audit
