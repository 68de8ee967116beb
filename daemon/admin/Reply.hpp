#pragma once

#include "db/StoreFailure.hpp"

#include <nlohmann/json.hpp>

#include <string>

namespace dovewarden::util {
struct HttpResponse;
}

namespace dovewarden::admin {

// Sets status and body (JSON and a newline; bytes that are not UTF-8 are
// replaced).
void answer(util::HttpResponse &response, int status,
            const nlohmann::json &body);
// Answers status with {"error": error}.
void fail(util::HttpResponse &response, int status, const std::string &error);
// Logs and answers 503 with "what: error".
void store_failed(util::HttpResponse &response, const std::string &what,
                  const std::string &error);
void store_failed(util::HttpResponse &response, const std::string &what,
                  const db::StoreFailure &failure);

} // namespace dovewarden::admin
