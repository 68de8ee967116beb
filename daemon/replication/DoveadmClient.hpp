#pragma once

#include <tl/expected.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace dovewarden::replication {

// Why a doveadm request failed. The message never holds the password or the
// API key.
struct DoveadmFailure {
  enum class Kind {
    temporary,    // retry later: doveadm or the destination down, a timeout,
                  // a cancelled request, any other exit code
    no_such_user, // exit code 67: unknown here or on the destination
    noreplicate,  // exit code 1001: the userdb says noreplicate
    auth,         // HTTP 401 or 403: wrong password or API key
    protocol,     // an answer that is not what doveadm answers
  };

  Kind kind = Kind::temporary;
  std::string message;
  int exit_code = 0; // doveadm's exit code when it gave one
};

// Returns "temporary", "no_such_user", "noreplicate", "auth" or "protocol".
const char *failure_kind_name(DoveadmFailure::Kind kind);

// A client of doveadm's HTTP API (POST <url>/doveadm/v1) for the two
// commands replication needs. Thread-safe: each request has its own
// connection (doveadm closes it after every answer anyway).
class DoveadmClient {
public:
  struct Options {
    std::string url;         // e.g. http://127.0.0.1:8080
    std::string password;    // Basic auth doveadm:<password>, or
    std::string api_key;     // "X-Dovecot-API <base64 of key>"; one of the two
    std::string destination; // dsync's destination, e.g. tcp:replica:12345
    // the whole request; a first full sync of a large mailbox takes long
    std::chrono::milliseconds timeout{std::chrono::minutes(30)};
    std::chrono::milliseconds connect_timeout{std::chrono::seconds(10)};
  };

  // Throws config::ConfigError if the URL is not http(s) or holds
  // credentials, or if not exactly one of password and api_key is set.
  explicit DoveadmClient(Options options);
  DoveadmClient(const DoveadmClient &) = delete;
  DoveadmClient &operator=(const DoveadmClient &) = delete;

  // Runs `doveadm sync` of user to the destination, incremental from state,
  // or full (and from an empty state) if full, as the replicator did (lock
  // timeout 30 s, noreplicate honoured). Returns the new dsync state, or why
  // not.
  tl::expected<std::string, DoveadmFailure>
  sync(const std::string &user, const std::string &state, bool full);

  // Runs `doveadm user` with mask ('*' and '?' are wildcards). Returns the
  // names of the users matching it (none if none do), or why not.
  tl::expected<std::vector<std::string>, DoveadmFailure>
  list_users(const std::string &mask);

  // Makes every running and future request fail at once (shutdown) as
  // temporary.
  void cancel();

private:
  // Returns a tag for one request.
  std::string next_tag();
  // POSTs body. Returns the body of a 200 answer, or why there was none.
  tl::expected<std::string, DoveadmFailure> post(const std::string &body);

  Options m_options;
  std::string m_endpoint; // url + "/doveadm/v1"
  std::atomic<bool> m_cancelled{false};
  std::atomic<std::uint64_t> m_next_tag{1};
};

} // namespace dovewarden::replication
