#pragma once

#include <nlohmann/json.hpp>

#include <chrono>

namespace dovewarden::util {

// Returns time as Unix seconds, or null for the epoch ("never").
nlohmann::json unix_time(std::chrono::system_clock::time_point time);

} // namespace dovewarden::util
