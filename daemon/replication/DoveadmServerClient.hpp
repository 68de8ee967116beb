#pragma once

#include "replication/DoveadmClient.hpp"
#include "replication/DoveadmConnection.hpp"

#include <sys/types.h>

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace dovewarden::replication {

// A client of doveadm's own protocol on a doveadm server socket: unix:PATH
// (Dovecot's doveadm-server socket; mode 0600 needs no password) or
// tcp:HOST:PORT (a doveadm inet_listener; doveadm_password). Dovecot 2.3's
// replicator spoke it, on one connection per command, as does this client.
//
// doveadm's process reads its settings when it accepts a connection: a few
// milliseconds of every command. So after each answer the client opens the
// next command's connection and takes it through the handshake. The next
// command, from any thread, uses it unless doveadm closed it, Dovecot was
// started anew (another socket at PATH), or it is older than
// Options::ready_connection_lifetime; then it connects itself. A connection
// is closed when its lifetime ends, used or not: it holds one doveadm process,
// which keeps the settings it read and outlives a stop of Dovecot while the
// connection lasts. One connection waits at most.
class DoveadmServerClient final : public DoveadmClient {
public:
  // Throws config::ConfigError if the URL is neither unix:PATH nor
  // tcp:HOST:PORT, if an API key is set (the protocol has none), or if tcp
  // has no password.
  explicit DoveadmServerClient(Options options);
  ~DoveadmServerClient() override;
  DoveadmServerClient(const DoveadmServerClient &) = delete;
  DoveadmServerClient &operator=(const DoveadmServerClient &) = delete;

  tl::expected<std::string, DoveadmFailure>
  sync(const std::string &user, const std::string &state, bool full) override;
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
  // The ready connection, if it is still fit for a command.
  std::unique_ptr<DoveadmConnection> take_ready();
  // Opens the ready connection if none waits.
  void prepare_ready();
  // Closes the ready connection when its lifetime ends; runs until closing.
  void expire_ready();

  Options m_options;
  std::string m_path; // unix: the socket's path
  std::string m_host; // tcp
  std::string m_port;
  std::atomic<bool> m_cancelled{false};
  std::mutex m_ready_mutex;
  std::condition_variable m_ready_changed;
  std::unique_ptr<DoveadmConnection> m_ready;
  DoveadmConnection::Clock::time_point m_ready_since;
  std::pair<dev_t, ino_t> m_ready_socket{}; // unix: the socket it reached
  bool m_closing = false;
  std::thread m_expiry;
};

} // namespace dovewarden::replication
