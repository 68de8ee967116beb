#include "audit/RecordJson.hpp"

#include <cstdint>
#include <limits>
#include <set>

namespace dovewarden::audit {

namespace {

using nlohmann::json;
using Error = tl::unexpected<std::string>;

// Reads the members of one JSON object into fields, each once.
class Reader {
public:
  explicit Reader(const json &object) : m_object(object) {}

  template <typename Number> void number(const char *name, Number &out) {
    const auto *value = find(name);
    if (value == nullptr)
      return;
    if (value->is_number_unsigned()) {
      const auto got = value->get<std::uint64_t>();
      if (got <= static_cast<std::uint64_t>(std::numeric_limits<Number>::max()))
        out = static_cast<Number>(got);
      else
        wrong(name, "out of range");
    } else if (value->is_number_integer() &&
               std::numeric_limits<Number>::is_signed) {
      out = static_cast<Number>(value->get<std::int64_t>());
    } else {
      wrong(name, "expected a whole number");
    }
  }

  void text(const char *name, std::string &out) {
    const auto *value = find(name);
    if (value == nullptr)
      return;
    if (value->is_string())
      out = value->get<std::string>();
    else
      wrong(name, "expected a string");
  }

  // Returns the first error, or an unknown member if every known one was
  // read and strict.
  std::string error(bool strict) const {
    if (!m_error.empty() || !strict)
      return m_error;
    for (const auto &item : m_object.items())
      if (m_read.count(item.key()) == 0)
        return "unknown member \"" + item.key() + "\"";
    return "";
  }

private:
  const json *find(const char *name) {
    if (!m_error.empty())
      return nullptr;
    m_read.insert(name);
    const auto found = m_object.find(name);
    if (found == m_object.end()) {
      m_error = std::string("\"") + name + "\" is missing";
      return nullptr;
    }
    return &*found;
  }

  void wrong(const char *name, const char *what) {
    m_error = std::string("\"") + name + "\": " + what;
  }

  const json &m_object;
  std::set<std::string> m_read;
  std::string m_error;
};

json details_json(const std::string &details, DetailsForm form) {
  if (form == DetailsForm::text)
    return details;
  auto parsed = json::parse(details, nullptr, false);
  if (parsed.is_discarded())
    return details;
  return parsed;
}

} // namespace

json record_json(const Record &record, DetailsForm details) {
  return json{{"seq", record.seq},
              {"time", record.time},
              {"operation", record.operation},
              {"user", record.user},
              {"actor", record.actor},
              {"ip", record.ip},
              {"port", record.port},
              {"session", record.session},
              {"service", record.service},
              {"mailbox", record.mailbox},
              {"mailbox_guid", record.mailbox_guid},
              {"uid", record.uid},
              {"uidvalidity", record.uidvalidity},
              {"msgid", record.msgid},
              {"outcome", record.outcome},
              {"details", details_json(record.details, details)},
              {"inst", record.inst},
              {"event_seq", record.event_seq},
              {"prev_hash", record.prev_hash},
              {"hash", record.hash}};
}

tl::expected<Record, std::string> record_from_json(const json &json) {
  if (!json.is_object())
    return Error("expected a JSON object");
  Record record;
  Reader read(json);
  read.number("seq", record.seq);
  read.number("time", record.time);
  read.text("operation", record.operation);
  read.text("user", record.user);
  read.text("actor", record.actor);
  read.text("ip", record.ip);
  read.number("port", record.port);
  read.text("session", record.session);
  read.text("service", record.service);
  read.text("mailbox", record.mailbox);
  read.text("mailbox_guid", record.mailbox_guid);
  read.number("uid", record.uid);
  read.number("uidvalidity", record.uidvalidity);
  read.text("msgid", record.msgid);
  read.text("outcome", record.outcome);
  read.text("details", record.details);
  read.text("inst", record.inst);
  read.number("event_seq", record.event_seq);
  read.text("prev_hash", record.prev_hash);
  read.text("hash", record.hash);
  if (auto error = read.error(true); !error.empty())
    return Error(std::move(error));
  return record;
}

json checkpoint_json(const Checkpoint &checkpoint) {
  return json{{"origin", checkpoint.origin},
              {"size", checkpoint.size},
              {"hash", checkpoint.hash},
              {"time", checkpoint.time},
              {"note", checkpoint.note}};
}

tl::expected<Checkpoint, std::string>
checkpoint_from_json(const nlohmann::json &json) {
  if (!json.is_object())
    return Error("expected a JSON object");
  Checkpoint checkpoint;
  Reader read(json);
  read.text("origin", checkpoint.origin);
  read.number("size", checkpoint.size);
  read.text("hash", checkpoint.hash);
  read.number("time", checkpoint.time);
  read.text("note", checkpoint.note);
  if (auto error = read.error(false); !error.empty())
    return Error(std::move(error));
  return checkpoint;
}

json report_json(const VerifyReport &report, const std::string &origin) {
  return json{{"ok", report.ok()},
              {"origin", origin},
              {"records", report.records},
              {"checkpoints", report.checkpoints},
              {"damage",
               report.ok() ? json(nullptr) : json(damage_name(report.damage))},
              {"seq", report.seq},
              {"message", report.message}};
}

} // namespace dovewarden::audit
