#include "admin/StatusPage.hpp"

#include "util/HttpRequest.hpp"
#include "util/HttpResponse.hpp"

#include <string>

namespace dovewarden::admin {

bool asks_for_status_page(const util::HttpRequest &request) {
  return (request.method == "GET" || request.method == "HEAD") &&
         request.path == k_status_page_path;
}

void answer_status_page(util::HttpResponse &response) {
  response.status = 200;
  response.set_content(std::string(embedded::k_status_page),
                       "text/html; charset=utf-8");
  // inline style and script only; fetch() to this origin only; no frames
  response.set_header("Content-Security-Policy",
                      "default-src 'none'; style-src 'unsafe-inline'; "
                      "script-src 'unsafe-inline'; connect-src 'self'; "
                      "img-src data:; base-uri 'none'; form-action 'none'; "
                      "frame-ancestors 'none'");
  response.set_header("X-Content-Type-Options", "nosniff");
  response.set_header("Referrer-Policy", "no-referrer");
  response.set_header("Cache-Control", "no-store");
}

} // namespace dovewarden::admin
