#include "admin/Reply.hpp"

#include "util/HttpResponse.hpp"
#include "util/Logger.hpp"

namespace dovewarden::admin {

using nlohmann::json;

void answer(util::HttpResponse &response, int status, const json &body) {
  response.status = status;
  // response prefixes and event data may hold bytes that are not UTF-8
  response.set_content(
      body.dump(-1, ' ', false, json::error_handler_t::replace) + "\n",
      "application/json");
}

void fail(util::HttpResponse &response, int status, const std::string &error) {
  answer(response, status, json{{"error", error}});
}

void store_failed(util::HttpResponse &response, const std::string &what,
                  const std::string &error) {
  LOG_WARN("admin: ", what, ": ", error);
  fail(response, 503, what + ": " + error);
}

void store_failed(util::HttpResponse &response, const std::string &what,
                  const db::StoreFailure &failure) {
  store_failed(response, what, failure.message);
}

} // namespace dovewarden::admin
