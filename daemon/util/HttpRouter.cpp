#include "util/HttpRouter.hpp"

namespace dovewarden::util {

void HttpRouter::add(std::string method, const std::string &pattern,
                     Handler handler) {
  m_routes.push_back(
      {std::move(method), PathPattern(pattern), std::move(handler)});
}

void HttpRouter::handle(HttpRequest &request, HttpResponse &response) const {
  const auto &method = request.method == "HEAD" ? "GET" : request.method;
  for (const auto &route : m_routes) {
    if (route.method != method ||
        !route.pattern.match(request.path, request.matches))
      continue;
    route.handler(request, response);
    return;
  }
  response.status = 404;
}

void HttpRouter::refuse(const HttpRefusal &refusal,
                        HttpResponse &response) const {
  response.status = refusal.status;
  if (m_refusal)
    return m_refusal(refusal, response);
  response.set_content(
      refusal.reason == HttpRefusal::Reason::too_large
          ? "request body larger than " + std::to_string(refusal.max_body) +
                " bytes\n"
          : std::string("the request body could not be read\n"),
      "text/plain");
}

} // namespace dovewarden::util
