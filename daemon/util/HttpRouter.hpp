#pragma once

#include "util/HttpRefusal.hpp"
#include "util/HttpRequest.hpp"
#include "util/HttpResponse.hpp"
#include "util/PathPattern.hpp"

#include <functional>
#include <string>
#include <vector>

namespace dovewarden::util {

// Which handler answers a request: routes by method and path pattern (a
// PathPattern over the whole decoded path, whose placeholders the handler
// finds in request.matches), behind an optional filter. Add everything
// before the listener starts; handle() is then called from several threads
// at once.
class HttpRouter {
public:
  using Handler = std::function<void(const HttpRequest &, HttpResponse &)>;
  // Returns true if it answered the request itself.
  using Filter = std::function<bool(const HttpRequest &, HttpResponse &)>;
  using RefusalHandler =
      std::function<void(const HttpRefusal &, HttpResponse &)>;

  // Routes method ("GET", "POST", ...) on paths matching pattern
  // (PathPattern: "/v1/webhooks/{}") to handler. A GET route answers HEAD too,
  // without the body.
  void add(std::string method, const std::string &pattern, Handler handler);
  // Runs filter on the head of every request, before its body is read; it
  // runs on the listener's I/O thread, so it must not block.
  void before(Filter filter) { m_filter = std::move(filter); }
  // Answers the refusals of the listener; else a line of text.
  void on_refusal(RefusalHandler handler) { m_refusal = std::move(handler); }

  // Returns true if the filter answered the request head itself.
  bool screen(const HttpRequest &request, HttpResponse &response) const {
    return m_filter && m_filter(request, response);
  }
  // Answers request with the first route that matches, 404 with an empty
  // body if none does.
  void handle(HttpRequest &request, HttpResponse &response) const;
  void refuse(const HttpRefusal &refusal, HttpResponse &response) const;

private:
  struct Route {
    std::string method;
    PathPattern pattern;
    Handler handler;
  };

  std::vector<Route> m_routes;
  Filter m_filter;
  RefusalHandler m_refusal;
};

} // namespace dovewarden::util
