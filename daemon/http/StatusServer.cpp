#include "http/StatusServer.hpp"

#include "metrics/Metrics.hpp"

#include <httplib.h>

namespace dovewarden::http {

namespace {

constexpr const char *k_text = "text/plain; charset=utf-8";
constexpr const char *k_exposition = "text/plain; version=0.0.4; charset=utf-8";

} // namespace

StatusServer::StatusServer(util::ListenAddress address,
                           metrics::Metrics &metrics,
                           std::function<Readiness()> ready)
    : m_listener("metrics", std::move(address)) {
  auto &server = m_listener.server();
  server.Get("/metrics",
             [&metrics](const httplib::Request &, httplib::Response &response) {
               response.set_content(metrics.serialize(), k_exposition);
             });
  server.Get("/healthz",
             [](const httplib::Request &, httplib::Response &response) {
               response.set_content("ok\n", k_text);
             });
  server.Get("/readyz",
             [ready = std::move(ready)](const httplib::Request &,
                                        httplib::Response &response) {
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
