#pragma once

#include "admin/Routes.hpp"

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

// The replication routes of the admin API (docs/cli.md):
//   GET    /v1/replication/status
//   GET    /v1/replication/users?mask=MASK
//   POST   /v1/replication/replicate  {"mask":…,"full":…,"priority":…}
//   DELETE /v1/replication/users/USER
// A store failure answers 503, bad input 400, each with {"error":"…"}.
class ReplicationApi : public Routes {
public:
  // Returns every user doveadm knows (doveadm user '*'), or an error text.
  using UserLister =
      std::function<tl::expected<std::vector<std::string>, std::string>()>;

  // list_users, if given, widens a replicate mask with wildcards to users the
  // store does not know yet.
  explicit ReplicationApi(store::ReplicationStore &store,
                          UserLister list_users = {});

  void install(httplib::Server &server) override;

private:
  void status(httplib::Response &response);
  void users(const httplib::Request &request, httplib::Response &response);
  void replicate(const httplib::Request &request, httplib::Response &response);
  void remove(const httplib::Request &request, httplib::Response &response);
  // Returns the users mask names, or an error text.
  tl::expected<std::vector<std::string>, std::string>
  expand(const std::string &mask);

  store::ReplicationStore &m_store;
  UserLister m_list_users;
};

} // namespace dovewarden::admin
