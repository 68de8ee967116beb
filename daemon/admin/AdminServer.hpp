#pragma once

#include "admin/AdminToken.hpp"
#include "admin/Routes.hpp"
#include "util/HttpListener.hpp"

#include <tl/expected.hpp>

#include <cstddef>
#include <string>

namespace dovewarden::util {
struct HttpRequest;
}

namespace dovewarden::admin {

// The admin API (JSON over HTTP, docs/cli.md), on a listener of its own:
// every request needs "Authorization: Bearer <token>" (the scheme in any
// case, RFC 7235), checked here before any route sees it, but for the status
// page (StatusPage), which holds no data. The routes come from
// the Routes added: ReplicationApi
// (/v1/replication…) and WebhookApi (/v1/webhooks…, /v1/deliveries…).
class AdminServer {
public:
  // no admin request needs more; a larger body is answered 413
  static constexpr std::size_t k_max_body = std::size_t{64} * 1024;

  AdminServer(util::ListenAddress address, AdminToken token,
              util::HttpLimits limits = {});
  AdminServer(const AdminServer &) = delete;
  AdminServer &operator=(const AdminServer &) = delete;

  // Serves routes, behind the token; call before start(). routes must
  // outlive the server.
  void add(Routes &routes) {
    routes.report_to(m_events);
    routes.install(m_listener.router());
  }
  // The admin.<action> events of the changes the routes make, raised as
  // the token's name.
  AdminEvents &events() { return m_events; }

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
  bool authorized(const util::HttpRequest &request) const;

  util::HttpListener m_listener;
  AdminToken m_token;
  AdminEvents m_events;
};

} // namespace dovewarden::admin
