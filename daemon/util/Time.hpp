#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace dovewarden::util {

// Returns time as Unix seconds, rounded towards the epoch.
std::int64_t unix_seconds(std::chrono::system_clock::time_point time);
// Returns time as µs since the epoch; now if none is given.
std::int64_t unix_micros(std::chrono::system_clock::time_point time =
                             std::chrono::system_clock::now());

// Returns time in UTC, to the second: "2024-05-01T12:00:00Z".
std::string utc_text(std::chrono::system_clock::time_point time);
// The same for Unix seconds; a time out of the calendar's range stays the
// number.
std::string utc_text(std::int64_t unix_seconds);

// The times the parsers below accept: from the epoch up to, not including,
// the year 10000 (RFC 3339's four-digit years), with at most nine fraction
// digits (nanoseconds; Dovecot writes six).
constexpr std::int64_t k_max_unix_seconds = 253402300800; // 10000-01-01

// Parses an RFC 3339 time: "2026-11-22T19:36:10.442828Z" (Dovecot's form),
// "2026-11-22 21:36:10+02:00". The date must exist (no 2026-02-30), the
// second may be a leap second (60). Returns µs since the epoch (fraction
// digits past µs are dropped), or nothing.
std::optional<std::int64_t> parse_rfc3339_micros(std::string_view text);

// Parses Unix seconds written as digits with an optional fraction:
// "1795376170.442828" (Dovecot's time_format = unix), "1795376170".
// Returns µs since the epoch, or nothing.
std::optional<std::int64_t> parse_unix_micros(std::string_view text);

} // namespace dovewarden::util
