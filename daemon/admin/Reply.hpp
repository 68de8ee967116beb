#pragma once

#include "db/StoreFailure.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <string>
#include <string_view>

namespace httplib {
struct Response;
}

namespace dovewarden::admin {

// Sets status and body (JSON and a newline; bytes that are not UTF-8 are
// replaced).
void answer(httplib::Response &response, int status,
            const nlohmann::json &body);
// Answers status with {"error": error}.
void fail(httplib::Response &response, int status, const std::string &error);
// Logs and answers 503 with "what: error".
void store_failed(httplib::Response &response, const std::string &what,
                  const std::string &error);
void store_failed(httplib::Response &response, const std::string &what,
                  const db::StoreFailure &failure);
// Returns time as Unix seconds, or null for the epoch ("never").
nlohmann::json unix_time(std::chrono::system_clock::time_point time);
// Returns true if text holds a control character.
bool has_control(std::string_view text);

} // namespace dovewarden::admin
