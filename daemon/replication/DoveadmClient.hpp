#pragma once

#include "replication/DoveadmFailure.hpp"
#include "replication/UserdbFields.hpp"

#include <tl/expected.hpp>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace dovewarden::replication {

// What replication asks of doveadm on this server, over its HTTP API
// (DoveadmHttpClient) or its own protocol on the doveadm-server socket
// (DoveadmServerClient). Thread-safe: every request has its own connection.
class DoveadmClient {
public:
  struct Options {
    // http(s)://HOST:PORT: the HTTP API; unix:PATH or tcp:HOST:PORT:
    // doveadm's own protocol, as Dovecot 2.3's replicator spoke it
    std::string url;
    std::string password; // doveadm_password
    std::string api_key;  // doveadm_api_key (HTTP API only)
    // the whole request; a first full sync of a large mailbox takes long
    std::chrono::milliseconds timeout{std::chrono::minutes(30)};
    std::chrono::milliseconds connect_timeout{std::chrono::seconds(10)};
    // how long the connection opened ahead for the next request waits for
    // it before it is closed (ReadyConnection)
    std::chrono::milliseconds ready_connection_lifetime{
        std::chrono::seconds(10)};
  };

  // Returns the client options.url asks for. Throws util::ConfigError if
  // the URL or the credentials do not fit it.
  static std::unique_ptr<DoveadmClient> open(Options options);

  virtual ~DoveadmClient() = default;

  // Runs `doveadm sync` of user to destination (e.g. tcp:replica:12345),
  // incremental from state, or full (and from an empty state) if full, as
  // the replicator did (lock timeout 30 s, every namespace), in a request
  // that Dovecot 2.3 and 2.4 both take: without replicatorNotify (-U), so
  // noreplicate is the caller's to honour. Returns the new dsync state, or
  // why not.
  virtual tl::expected<std::string, DoveadmFailure>
  sync(const std::string &user, const std::string &destination,
       const std::string &state, bool full) = 0;

  // Runs `doveadm user` for one user. Returns that user's userdb fields, or
  // why not (no_such_user if the userdb does not know it).
  virtual tl::expected<UserdbFields, DoveadmFailure>
  user_fields(const std::string &user) = 0;

  // Runs `doveadm user` with mask ('*' and '?' are wildcards). Returns the
  // names of the users matching it (none if none do), or why not.
  virtual tl::expected<std::vector<std::string>, DoveadmFailure>
  list_users(const std::string &mask) = 0;

  // Makes every running and future request fail at once (shutdown) as
  // temporary.
  virtual void cancel() = 0;

protected:
  // Whether doveadm takes name for a mask: it holds '*' or '?'.
  static bool is_mask(const std::string &name);

  // Why command cannot name user, if it cannot: doveadm takes a name with
  // '*' or '?' for a mask.
  static tl::expected<void, DoveadmFailure> plain_name(const std::string &user,
                                                       const char *command);
};

} // namespace dovewarden::replication
