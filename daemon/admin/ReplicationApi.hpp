#pragma once

#include "admin/Routes.hpp"
#include "replication/SkippedUsers.hpp"
#include "store/Priority.hpp"

#include <tl/expected.hpp>

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace dovewarden::util {
struct HttpRequest;
struct HttpResponse;
} // namespace dovewarden::util

namespace dovewarden::store {
class ReplicationStore;
}

namespace dovewarden::admin {

// What a POST /v1/replication/replicate body asks for.
struct ReplicateRequest {
  std::string mask;
  bool full = false;
  // doveadm replicator replicate's default
  store::Priority priority = store::Priority::low;
};

// Returns the meaning of a replicate request's body, or the reason it has
// none.
tl::expected<ReplicateRequest, std::string>
parse_replicate(std::string_view body);

// The replication routes of the admin API (docs/cli.md):
//   GET    /v1/replication/status     the queue's counts, the skipped syncs
//   GET    /v1/replication/users?mask=MASK
//   POST   /v1/replication/replicate  {"mask":…,"full":…,"priority":…}
//   DELETE /v1/replication/users/USER
// A store failure answers 503, bad input 400, each with {"error":"…"}. A
// user or mask longer than k_max_name bytes is bad input.
class ReplicationApi : public Routes {
public:
  // an e-mail address has at most 254 bytes (RFC 5321's path limit)
  static constexpr std::size_t k_max_name = 255;

  // Returns every user doveadm knows (doveadm user '*'), or an error text.
  using UserLister =
      std::function<tl::expected<std::vector<std::string>, std::string>()>;

  // Returns the syncs skipped for noreplicate (Replicator::noreplicate()).
  using NoreplicateSummary =
      std::function<replication::SkippedUsers::Summary()>;

  // list_users, if given, widens a replicate mask with wildcards to users the
  // store does not know yet; noreplicate, if given, adds the skipped syncs
  // to the status.
  explicit ReplicationApi(store::ReplicationStore &store,
                          UserLister list_users = {},
                          NoreplicateSummary noreplicate = {});

  void install(util::HttpRouter &router) override;

private:
  void status(util::HttpResponse &response);
  void users(const util::HttpRequest &request, util::HttpResponse &response);
  void replicate(const util::HttpRequest &request,
                 util::HttpResponse &response);
  void remove(const util::HttpRequest &request, util::HttpResponse &response);
  // Returns the users mask names, or an error text.
  tl::expected<std::vector<std::string>, std::string>
  expand(const std::string &mask);

  store::ReplicationStore &m_store;
  UserLister m_list_users;
  NoreplicateSummary m_noreplicate;
};

} // namespace dovewarden::admin
