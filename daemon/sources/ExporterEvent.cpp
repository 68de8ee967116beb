#include "sources/ExporterEvent.hpp"

#include "sources/StrictJson.hpp"
#include "util/Strings.hpp"
#include "util/Time.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <ctime>
#include <limits>
#include <optional>
#include <utility>

namespace dovewarden::sources {

namespace {

// ordered: the fields keep Dovecot's order, as the plugin's keep theirs
using Json = StrictJson::Json;
using Error = ExporterEvent::Error;
using Reject = ExporterEvent::Reject;

// Dovecot nests three levels (event, fields, a string list); far deeper
// input would only cost stack when it is converted
constexpr int k_max_depth = 32;

// the times of an event, the one it is stamped with first
constexpr std::array<std::string_view, 2> k_time_keys = {"end_time",
                                                         "start_time"};

// the names this class sets itself; a Dovecot field of the same name would
// otherwise shadow them (type and v are the wire format's own)
constexpr std::array<std::string_view, 8> k_reserved = {
    "type", "v", "ts", "host", "svc", "ip", "origin", "categories"};

// imap_command_finished's byte counters: 2.3's name, then 2.4's, which the
// wire format (the plugin, on both versions) uses too
constexpr std::array<std::pair<std::string_view, std::string_view>, 2>
    k_renamed_counters = {
        {{"bytes_in", "net_in_bytes"}, {"bytes_out", "net_out_bytes"}}};

tl::unexpected<Error> fail(Reject reason, std::string message) {
  return tl::unexpected(Error{reason, std::move(message)});
}

bool is_blank(std::string_view text) {
  for (const char c : text)
    if (c != ' ' && c != '\t' && c != '\r' && c != '\n')
      return false;
  return true;
}

Reject reject_for(StrictJson::Failure failure) {
  switch (failure) {
  case StrictJson::Failure::truncated:
    return Reject::truncated;
  case StrictJson::Failure::duplicate_key:
    return Reject::duplicate_key;
  case StrictJson::Failure::bad_number:
    return Reject::bad_number;
  case StrictJson::Failure::syntax:
  case StrictJson::Failure::too_deep:
    break;
  }
  return Reject::not_json;
}

tl::expected<StrictJson::Parsed, Error> parse_json(std::string_view body) {
  if (is_blank(body))
    return fail(Reject::not_json, "empty body");
  auto parsed = StrictJson::parse(body, k_max_depth,
                                  {k_time_keys.begin(), k_time_keys.end()});
  if (!parsed)
    return fail(reject_for(parsed.error().failure),
                std::move(parsed.error().message));
  return std::move(*parsed);
}

// Reads a Dovecot time: an RFC 3339 string, or Unix seconds as a number
// (time_format = unix), whose text as written is number_text. Returns µs
// since the epoch.
std::optional<std::int64_t> micros(const Json &value,
                                   const std::string *number_text) {
  if (value.is_string())
    return util::parse_rfc3339_micros(value.get_ref<const std::string &>());
  if (value.is_number() && number_text != nullptr)
    return util::parse_unix_micros(*number_text);
  return std::nullopt;
}

const std::string *
number_text(const std::vector<std::pair<std::string, std::string>> &texts,
            std::string_view key) {
  for (const auto &[name, text] : texts)
    if (name == key)
      return &text;
  return nullptr;
}

// Checks every time of the event, then returns the event time: when it was
// sent (end_time), else when it began, else when it arrived here.
tl::expected<std::int64_t, Error>
event_micros(const StrictJson::Parsed &parsed,
             std::chrono::system_clock::time_point received) {
  std::optional<std::int64_t> event_time;
  for (const auto key : k_time_keys) {
    const auto it = parsed.root.find(key);
    if (it == parsed.root.end())
      continue;
    const auto time = micros(*it, number_text(parsed.number_texts, key));
    if (!time)
      return fail(Reject::bad_time,
                  std::string(key) +
                      " is neither an RFC 3339 time nor Unix seconds from "
                      "1970 to 9999, with at most 9 fraction digits");
    if (!event_time)
      event_time = time;
  }
  if (event_time)
    return *event_time;
  return std::chrono::duration_cast<std::chrono::microseconds>(
             received.time_since_epoch())
      .count();
}

wire::Value to_value(const Json &value) {
  switch (value.type()) {
  case Json::value_t::string:
    return value.get<std::string>();
  case Json::value_t::number_integer:
    return value.get<std::int64_t>();
  case Json::value_t::number_unsigned: {
    const auto u = value.get<std::uint64_t>();
    if (u <=
        static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
      return static_cast<std::int64_t>(u); // as wire::decode gives it
    return u;
  }
  case Json::value_t::number_float:
    return value.get<double>();
  case Json::value_t::boolean:
    return value.get<bool>();
  case Json::value_t::array: {
    wire::Strings strings;
    for (const auto &item : value) {
      if (!item.is_string())
        break;
      strings.push_back(item.get<std::string>());
    }
    if (strings.size() == value.size())
      return strings;
    break;
  }
  case Json::value_t::object:
    break;
  default:
    return nullptr;
  }
  // what Dovecot does not send passes through as msgpack, as on the wire
  const auto bytes = Json::to_msgpack(value);
  return wire::Packed{std::string(bytes.begin(), bytes.end())};
}

std::string string_at(const Json &object, const char *key) {
  const auto it = object.find(key);
  if (it == object.end() || !it->is_string())
    return {};
  return it->get<std::string>();
}

// The service: the "service:NAME" category Dovecot's processes add, else
// the "protocol" field, else the name's prefix.
std::string service(const Json &root, const Json &fields,
                    const std::string &type) {
  constexpr std::string_view prefix = "service:";
  const auto categories = root.find("categories");
  if (categories != root.end() && categories->is_array()) {
    for (const auto &category : *categories) {
      if (!category.is_string())
        continue;
      const auto &name = category.get_ref<const std::string &>();
      if (name.size() > prefix.size() &&
          name.compare(0, prefix.size(), prefix) == 0)
        return name.substr(prefix.size());
    }
  }
  auto protocol = string_at(fields, "protocol");
  if (!protocol.empty())
    return protocol;
  for (const char *known : {"imap", "pop3"}) {
    const auto name = std::string(known) + "_";
    if (type.compare(0, name.size(), name) == 0)
      return known;
  }
  return {};
}

// Returns the plugin's origin for the events whose origin is known.
const char *origin(const std::string &type) {
  if (type == "imap_command_finished" || type == "pop3_command_finished")
    return "client";
  if (type == "mail_delivery_finished")
    return "delivery";
  return nullptr;
}

bool reserved(const std::string &key) {
  for (const auto name : k_reserved)
    if (key == name)
      return true;
  return false;
}

// Returns the name a Dovecot field is kept under: its own, or 2.4's for a
// 2.3 byte counter of a command; empty to drop a 2.3 counter that stands
// beside its 2.4 namesake.
std::string_view field_name(const std::string &type, const std::string &key,
                            const Json &fields) {
  if (type != "imap_command_finished")
    return key;
  for (const auto &[old_name, new_name] : k_renamed_counters) {
    if (key == old_name)
      return fields.contains(std::string(new_name)) ? std::string_view()
                                                    : new_name;
  }
  return key;
}

void set_string(wire::Message &message, std::string_view key,
                std::string value) {
  if (!value.empty())
    message.set(key, std::move(value));
}

tl::expected<core::Event, Error>
read_event(std::string_view body,
           std::chrono::system_clock::time_point received) {
  auto parsed = parse_json(body);
  if (!parsed)
    return tl::unexpected(parsed.error());
  const Json &root = parsed->root;
  if (!root.is_object())
    return fail(Reject::not_an_object, std::string("the body is a JSON ") +
                                           root.type_name() +
                                           ", not one event object");
  auto type = string_at(root, "event");
  if (type.empty())
    return fail(Reject::no_event_name,
                "no event name (\"event\"); include name in the metric's "
                "exporter_include");
  static const Json k_no_fields = Json::object();
  const auto fields_it = root.find("fields");
  const Json &fields = fields_it != root.end() && fields_it->is_object()
                           ? *fields_it
                           : k_no_fields;
  auto user = string_at(fields, "user");
  if (user.empty())
    return fail(Reject::no_user,
                "event " + util::quote(type) + " has no fields.user");
  const auto ts = event_micros(*parsed, received);
  if (!ts)
    return tl::unexpected(ts.error());

  core::Event event;
  event.received = received;
  auto &message = event.message;
  message.set("ts", *ts);
  set_string(message, "host", string_at(root, "hostname"));
  set_string(message, "svc", service(root, fields, type));
  message.set("user", std::move(user));
  set_string(message, "session", string_at(fields, "session"));
  set_string(message, "ip", string_at(fields, "remote_ip"));
  if (const char *known = origin(type))
    message.set("origin", std::string(known));
  // no key comes twice (StrictJson) and the reserved ones are left out, so
  // only user and session can meet a name already set: every other field is
  // appended without a search, keeping this linear in the fields
  message.fields.reserve(message.fields.size() + fields.size() + 1);
  for (const auto &[key, value] : fields.items()) {
    const auto name = field_name(type, key, fields);
    if (name.empty() || reserved(key))
      continue;
    if (key == "user" || key == "session")
      message.set(name, to_value(value));
    else
      message.fields.push_back(wire::Field{std::string(name), to_value(value)});
  }
  const auto categories = root.find("categories");
  if (categories != root.end() && categories->is_array())
    message.set("categories", to_value(*categories));
  message.type = std::move(type);
  return event;
}

} // namespace

tl::expected<core::Event, Error>
ExporterEvent::parse(std::string_view body,
                     std::chrono::system_clock::time_point received) {
  // nothing above is meant to throw; should it, the answer is still a 400
  // that says no more than this (an exception's text may quote the body)
  try {
    return read_event(body, received);
  } catch (const std::exception &) {
    return fail(Reject::not_json, "the body could not be parsed");
  }
}

const char *ExporterEvent::reject_name(Reject reason) {
  switch (reason) {
  case Reject::not_json:
    return "not_json";
  case Reject::truncated:
    return "truncated";
  case Reject::not_an_object:
    return "not_an_object";
  case Reject::no_event_name:
    return "no_event_name";
  case Reject::no_user:
    return "no_user";
  case Reject::bad_time:
    return "bad_time";
  case Reject::bad_number:
    return "bad_number";
  case Reject::duplicate_key:
    return "duplicate_key";
  }
  return "unknown";
}

} // namespace dovewarden::sources
