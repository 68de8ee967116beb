#pragma once

#include "util/HttpListener.hpp"

#include <tl/expected.hpp>

#include <functional>
#include <string>

namespace dovewarden::metrics {
class Metrics;
}

namespace dovewarden::http {

// What /readyz answers: 200 if ready, else 503, and below that line the
// detail, lines that name what is wrong or degraded (a dependency down that
// does not stop the intake leaves the daemon ready).
struct Readiness {
  bool ready = false;
  std::string detail; // lines, each ending in '\n'
};

// GET /metrics (Prometheus text format), /healthz (200 while the process
// runs) and /readyz (503 until ready() says so, e.g. until the sources are
// bound, and again while shutting down).
class StatusServer {
public:
  // its requests need no body
  static constexpr std::size_t k_max_body = 4096;

  StatusServer(util::ListenAddress address, metrics::Metrics &metrics,
               std::function<Readiness()> ready, util::HttpLimits limits = {});

  // Counts the connections the listener drops; call before start().
  void on_drop(util::HttpListener::DropCounter count) {
    m_listener.on_drop(std::move(count));
  }

  // Binds and starts serving. Returns an error text if the address cannot be
  // bound.
  tl::expected<void, std::string> start() { return m_listener.start(); }
  // Stops serving. Idempotent.
  void stop() { m_listener.stop(); }

private:
  util::HttpListener m_listener;
};

} // namespace dovewarden::http
