#include "http/StatusServer.hpp"

#include "metrics/Metrics.hpp"

namespace dovewarden::http {

namespace {

constexpr const char *k_text = "text/plain; charset=utf-8";
constexpr const char *k_exposition = "text/plain; version=0.0.4; charset=utf-8";

util::HttpLimits status_limits(util::HttpLimits limits) {
  limits.max_body = StatusServer::k_max_body;
  return limits;
}

} // namespace

StatusServer::StatusServer(util::ListenAddress address,
                           metrics::Metrics &metrics,
                           std::function<Readiness()> ready,
                           util::HttpLimits limits)
    : m_listener("metrics", std::move(address), status_limits(limits)) {
  using util::HttpRequest;
  using util::HttpResponse;
  auto &router = m_listener.router();
  router.add("GET", "/metrics",
             [&metrics](const HttpRequest &, HttpResponse &response) {
               response.set_content(metrics.serialize(), k_exposition);
             });
  router.add("GET", "/healthz",
             [](const HttpRequest &, HttpResponse &response) {
               response.set_content("ok\n", k_text);
             });
  router.add(
      "GET", "/readyz",
      [ready = std::move(ready)](const HttpRequest &, HttpResponse &response) {
        const auto readiness = ready();
        if (readiness.ready) {
          response.set_content("ready\n" + readiness.detail, k_text);
        } else {
          response.status = 503;
          response.set_content("not ready\n" + readiness.detail, k_text);
        }
      });
}

} // namespace dovewarden::http
