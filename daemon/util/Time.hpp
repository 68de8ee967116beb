#pragma once

#include <nlohmann/json.hpp>

#include <chrono>
#include <string>

namespace dovewarden::util {

// Returns time in UTC, to the second: "2024-05-01T12:00:00Z".
std::string utc_text(std::chrono::system_clock::time_point time);

// Returns time as Unix seconds, or null for the epoch ("never").
nlohmann::json unix_time(std::chrono::system_clock::time_point time);

} // namespace dovewarden::util
