#pragma once

#include "replication/DoveadmClient.hpp"
#include "replication/DoveadmConnection.hpp"
#include "replication/ReadyConnection.hpp"

#include <atomic>
#include <memory>
#include <string>
#include <vector>

namespace dovewarden::replication {

// A client of doveadm's own protocol on a doveadm server socket: unix:PATH
// (Dovecot's doveadm-server socket; mode 0600 needs no password) or
// tcp:HOST:PORT (a doveadm inet_listener; doveadm_password). Dovecot 2.3's
// replicator spoke it, on one connection per command, as does this client.
//
// After each answer it opens the next command's connection and takes it
// through the handshake (ReadyConnection).
class DoveadmServerClient final : public DoveadmClient {
public:
  // Throws util::ConfigError if the URL is neither unix:PATH nor
  // tcp:HOST:PORT, if an API key is set (the protocol has none), or if tcp
  // has no password.
  explicit DoveadmServerClient(Options options);
  DoveadmServerClient(const DoveadmServerClient &) = delete;
  DoveadmServerClient &operator=(const DoveadmServerClient &) = delete;

  tl::expected<std::string, DoveadmFailure> sync(const std::string &user,
                                                 const std::string &destination,
                                                 const std::string &state,
                                                 bool full) override;
  tl::expected<UserdbFields, DoveadmFailure>
  user_fields(const std::string &user) override;
  tl::expected<std::vector<std::string>, DoveadmFailure>
  list_users(const std::string &mask) override;
  void cancel() override;

  // What doveadm answered a command: its output, one value per field in
  // the order printed, and the result line's text after '+' or '-'.
  struct Answer {
    std::vector<std::string> values;
    bool ok = false;
    std::string error; // e.g. "NOUSER"
  };

private:
  // Runs one command (args tab-escaped on one line) as user on the ready
  // connection or a new one. Returns doveadm's answer, or why there was none.
  tl::expected<Answer, DoveadmFailure>
  run(const std::string &user, const std::vector<std::string> &args);
  // A new connection through the handshake (and the password), or why not.
  tl::expected<std::unique_ptr<DoveadmConnection>, DoveadmFailure>
  connect(DoveadmConnection::Clock::time_point deadline);

  Options m_options;
  std::string m_path; // unix: the socket's path
  std::string m_host; // tcp
  std::string m_port;
  std::atomic<bool> m_cancelled{false};
  ReadyConnection m_ready;
};

} // namespace dovewarden::replication
