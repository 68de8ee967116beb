#pragma once

#include "admin/AdminToken.hpp"
#include "admin/Routes.hpp"
#include "util/HttpListener.hpp"

#include <tl/expected.hpp>

#include <string>

namespace httplib {
struct Request;
} // namespace httplib

namespace dovewarden::admin {

// The admin API (JSON over HTTP, docs/cli.md), on a listener of its own:
// every request needs "Authorization: Bearer <token>", checked here before
// any route sees it. The routes come from the Routes added: ReplicationApi
// (/v1/replication…) and WebhookApi (/v1/webhooks…, /v1/deliveries…).
class AdminServer {
public:
  AdminServer(util::ListenAddress address, AdminToken token);
  AdminServer(const AdminServer &) = delete;
  AdminServer &operator=(const AdminServer &) = delete;

  // Serves routes, behind the token; call before start(). routes must
  // outlive the server.
  void add(Routes &routes) { routes.install(m_listener.server()); }

  // Binds and starts serving. Returns an error text if the address cannot be
  // bound.
  tl::expected<void, std::string> start() { return m_listener.start(); }
  // Stops serving. Idempotent.
  void stop() { m_listener.stop(); }

private:
  bool authorized(const httplib::Request &request) const;

  util::HttpListener m_listener;
  AdminToken m_token;
};

} // namespace dovewarden::admin
