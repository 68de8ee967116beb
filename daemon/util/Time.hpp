#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace dovewarden::util {

// Returns time as Unix seconds, rounded towards the epoch.
std::int64_t unix_seconds(std::chrono::system_clock::time_point time);

// Returns time in UTC, to the second: "2024-05-01T12:00:00Z".
std::string utc_text(std::chrono::system_clock::time_point time);
// The same for Unix seconds; a time out of the calendar's range stays the
// number.
std::string utc_text(std::int64_t unix_seconds);

} // namespace dovewarden::util
