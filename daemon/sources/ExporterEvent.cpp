#include "sources/ExporterEvent.hpp"

#include "util/Strings.hpp"

#include <nlohmann/json.hpp>

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
using Json = nlohmann::ordered_json;
using Error = ExporterEvent::Error;
using Reject = ExporterEvent::Reject;

// Dovecot nests three levels (event, fields, a string list); far deeper
// input would only cost stack when it is converted
constexpr int k_max_depth = 32;
constexpr std::int64_t k_micros = 1000000;

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

tl::expected<Json, Error> parse_json(std::string_view body) {
  if (is_blank(body))
    return fail(Reject::not_json, "empty body");
  int depth = 0;
  const Json::parser_callback_t track_depth =
      [&depth](int level, Json::parse_event_t, Json &) {
        depth = std::max(depth, level);
        return true;
      };
  try {
    auto root = Json::parse(body, track_depth);
    if (depth > k_max_depth)
      return fail(Reject::not_json, "JSON nested deeper than " +
                                        std::to_string(k_max_depth) +
                                        " levels");
    return root;
  } catch (const Json::parse_error &e) {
    // the parser reports the byte after the end when the input ran out
    if (e.byte > body.size())
      return fail(Reject::truncated, "truncated JSON: the body ends after " +
                                         std::to_string(body.size()) +
                                         " bytes");
    return fail(Reject::not_json,
                "not JSON: syntax error at byte " + std::to_string(e.byte));
  }
}

// Reads count digits at text[at...]. Returns their value, or -1.
int digits(std::string_view text, std::size_t at, std::size_t count) {
  if (at + count > text.size())
    return -1;
  int value = 0;
  for (std::size_t i = at; i < at + count; i++) {
    if (!std::isdigit(static_cast<unsigned char>(text[i])))
      return -1;
    value = value * 10 + (text[i] - '0');
  }
  return value;
}

// Returns the offset of the zone ("Z", "+HH:MM", "-HH:MM") in seconds.
std::optional<std::int64_t> zone_offset(std::string_view zone) {
  if (zone == "Z" || zone == "z")
    return 0;
  if (zone.size() != 6 || (zone[0] != '+' && zone[0] != '-') || zone[3] != ':')
    return std::nullopt;
  const int hours = digits(zone, 1, 2);
  const int minutes = digits(zone, 4, 2);
  if (hours < 0 || hours > 23 || minutes < 0 || minutes > 59)
    return std::nullopt;
  const std::int64_t offset = hours * 3600 + minutes * 60;
  return zone[0] == '-' ? -offset : offset;
}

// Parses RFC 3339 ("2026-11-22T19:36:10.442828Z", Dovecot's form, or with
// fewer fraction digits or a numeric zone). Returns µs since the epoch.
std::optional<std::int64_t> rfc3339_micros(std::string_view text) {
  if (text.size() < 20 || text[4] != '-' || text[7] != '-' ||
      (text[10] != 'T' && text[10] != 't' && text[10] != ' ') ||
      text[13] != ':' || text[16] != ':')
    return std::nullopt;
  std::tm tm{};
  tm.tm_year = digits(text, 0, 4) - 1900;
  tm.tm_mon = digits(text, 5, 2) - 1;
  tm.tm_mday = digits(text, 8, 2);
  tm.tm_hour = digits(text, 11, 2);
  tm.tm_min = digits(text, 14, 2);
  tm.tm_sec = digits(text, 17, 2);
  if (tm.tm_year < 0 || tm.tm_mon < 0 || tm.tm_mon > 11 || tm.tm_mday < 1 ||
      tm.tm_mday > 31 || tm.tm_hour < 0 || tm.tm_hour > 23 || tm.tm_min < 0 ||
      tm.tm_min > 59 || tm.tm_sec < 0 || tm.tm_sec > 60)
    return std::nullopt;
  std::size_t at = 19;
  std::int64_t fraction = 0;
  if (text[at] == '.') {
    std::int64_t scale = k_micros;
    for (at++;
         at < text.size() && std::isdigit(static_cast<unsigned char>(text[at]));
         at++) {
      scale /= 10; // digits beyond µs are dropped
      fraction += (text[at] - '0') * scale;
    }
    if (at == 20)
      return std::nullopt;
  }
  const auto offset = zone_offset(text.substr(at));
  if (!offset)
    return std::nullopt;
  const std::time_t seconds = ::timegm(&tm);
  if (seconds == static_cast<std::time_t>(-1))
    return std::nullopt;
  return (static_cast<std::int64_t>(seconds) - *offset) * k_micros + fraction;
}

// Reads a Dovecot time: an RFC 3339 string, or seconds as a number
// ("1795376170.442828", time_format = unix). Returns µs since the epoch.
std::optional<std::int64_t> micros(const Json &value) {
  if (value.is_string())
    return rfc3339_micros(value.get_ref<const std::string &>());
  if (!value.is_number())
    return std::nullopt;
  // a double holds such a time to ±0.25 µs, so rounding restores it exactly
  const double seconds = value.get<double>();
  // whole seconds: the most that still fit in µs
  constexpr std::int64_t max_seconds =
      std::numeric_limits<std::int64_t>::max() / k_micros;
  if (!std::isfinite(seconds) ||
      std::fabs(seconds) > static_cast<double>(max_seconds))
    return std::nullopt;
  return static_cast<std::int64_t>(std::llround(seconds * k_micros));
}

// Returns the event time: when it was sent (end_time), else when it began,
// else when it arrived here.
tl::expected<std::int64_t, Error>
event_micros(const Json &root, std::chrono::system_clock::time_point received) {
  for (const char *key : {"end_time", "start_time"}) {
    const auto it = root.find(key);
    if (it == root.end())
      continue;
    if (const auto parsed = micros(*it))
      return *parsed;
    return fail(Reject::bad_time,
                std::string(key) + " is neither an RFC 3339 time nor a number");
  }
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

} // namespace

tl::expected<core::Event, Error>
ExporterEvent::parse(std::string_view body,
                     std::chrono::system_clock::time_point received) {
  auto root = parse_json(body);
  if (!root)
    return tl::unexpected(root.error());
  if (!root->is_object())
    return fail(Reject::not_an_object, std::string("the body is a JSON ") +
                                           root->type_name() +
                                           ", not one event object");
  auto type = string_at(*root, "event");
  if (type.empty())
    return fail(Reject::no_event_name,
                "no event name (\"event\"); include name in the metric's "
                "exporter_include");
  static const Json k_no_fields = Json::object();
  const auto fields_it = root->find("fields");
  const Json &fields = fields_it != root->end() && fields_it->is_object()
                           ? *fields_it
                           : k_no_fields;
  auto user = string_at(fields, "user");
  if (user.empty())
    return fail(Reject::no_user,
                "event " + util::quote(type) + " has no fields.user");
  const auto ts = event_micros(*root, received);
  if (!ts)
    return tl::unexpected(ts.error());

  core::Event event;
  event.received = received;
  auto &message = event.message;
  message.set("ts", *ts);
  set_string(message, "host", string_at(*root, "hostname"));
  set_string(message, "svc", service(*root, fields, type));
  message.set("user", std::move(user));
  set_string(message, "session", string_at(fields, "session"));
  set_string(message, "ip", string_at(fields, "remote_ip"));
  if (const char *known = origin(type))
    message.set("origin", std::string(known));
  for (const auto &[key, value] : fields.items()) {
    const auto name = field_name(type, key, fields);
    if (!name.empty() && !reserved(key))
      message.set(name, to_value(value));
  }
  const auto categories = root->find("categories");
  if (categories != root->end() && categories->is_array())
    message.set("categories", to_value(*categories));
  message.type = std::move(type);
  return event;
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
  }
  return "unknown";
}

} // namespace dovewarden::sources
