#pragma once

#include "core/Event.hpp"

#include <tl/expected.hpp>

#include <array>
#include <chrono>
#include <string>
#include <string_view>

namespace dovewarden::sources {

// One event as Dovecot's event_exporter posts it with format = json: an
// object with "event" (the name), "hostname", "start_time", "end_time",
// "categories" and "fields". Dovecot 2.3 and 2.4 both send one object per
// HTTP request, with times as RFC 3339 strings or as seconds.micros numbers
// (docs/event-exporter.md).
//
// The event's type is its Dovecot name; every Dovecot field is kept under
// its own name, and the wire names are added in front as the plugin sends
// them: ts (end_time, µs since the epoch), host, svc (from the
// "service:NAME" category), user, session, ip (remote_ip) and origin
// (client for imap_command_finished, delivery for mail_delivery_finished).
// imap_command_finished's byte counters keep one name whichever version
// sent them: 2.3's bytes_in and bytes_out become 2.4's net_in_bytes and
// net_out_bytes, the names the plugin sends.
class ExporterEvent {
public:
  enum class Reject {
    not_json,      // not one JSON value (trailing bytes included)
    truncated,     // JSON that ends too early
    not_an_object, // top level is not an object
    no_event_name, // no string "event"
    no_user,       // no string "user" in "fields"
    bad_time,      // start_time or end_time is not a valid time (util/Time)
    bad_number,    // a number outside a double's range (1e400)
    duplicate_key, // one object has a key twice
  };
  // Every reason, for the metrics that count each from 0.
  static constexpr std::array<Reject, 8> k_rejects{
      Reject::not_json,      Reject::truncated,    Reject::not_an_object,
      Reject::no_event_name, Reject::no_user,      Reject::bad_time,
      Reject::bad_number,    Reject::duplicate_key};
  struct Error {
    Reject reason;
    std::string message; // one line for the HTTP answer and the debug log
  };

  ExporterEvent() = delete;

  // Parses one request body. Returns the event (source left empty), or why
  // the body is not one.
  static tl::expected<core::Event, Error>
  parse(std::string_view body, std::chrono::system_clock::time_point received);

  // Returns a short snake_case name for reason, usable as a metric label.
  static const char *reject_name(Reject reason);
};

} // namespace dovewarden::sources
