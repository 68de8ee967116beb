#pragma once

#include "admin/AdminToken.hpp"
#include "admin/Routes.hpp"
#include "http/HttpListener.hpp"

#include <tl/expected.hpp>

#include <functional>
#include <string>
#include <vector>

namespace httplib {
struct Request;
struct Response;
} // namespace httplib

namespace dovewarden::store {
class ReplicationStore;
}

namespace dovewarden::admin {

// The admin API (JSON over HTTP, docs/cli.md), on a listener of its own:
// every request needs "Authorization: Bearer <token>".
//   GET    /v1/replication/status
//   GET    /v1/replication/users?mask=MASK
//   POST   /v1/replication/replicate  {"mask":…,"full":…,"priority":…}
//   DELETE /v1/replication/users/USER
// and the routes of every Routes added (WebhookApi: /v1/webhooks…).
// A store failure answers 503, bad input 400, each with {"error":"…"}.
class AdminServer {
public:
  // Returns every user doveadm knows (doveadm user '*'), or an error text.
  using UserLister =
      std::function<tl::expected<std::vector<std::string>, std::string>()>;

  // list_users, if given, widens a replicate mask with wildcards to users the
  // store does not know yet.
  AdminServer(util::ListenAddress address, AdminToken token,
              store::ReplicationStore &store, UserLister list_users = {});
  AdminServer(const AdminServer &) = delete;
  AdminServer &operator=(const AdminServer &) = delete;

  // Serves routes too, on the same listener and behind the same token; call
  // before start(). routes must outlive the server.
  void add(Routes &routes) { routes.install(m_listener.server()); }

  // Binds and starts serving. Returns an error text if the address cannot be
  // bound.
  tl::expected<void, std::string> start() { return m_listener.start(); }
  // Stops serving. Idempotent.
  void stop() { m_listener.stop(); }

private:
  bool authorized(const httplib::Request &request) const;
  void status(httplib::Response &response);
  void users(const httplib::Request &request, httplib::Response &response);
  void replicate(const httplib::Request &request, httplib::Response &response);
  void remove(const httplib::Request &request, httplib::Response &response);
  // Returns the users mask names, or an error text.
  tl::expected<std::vector<std::string>, std::string>
  expand(const std::string &mask);

  http::HttpListener m_listener;
  AdminToken m_token;
  store::ReplicationStore &m_store;
  UserLister m_list_users;
};

} // namespace dovewarden::admin
