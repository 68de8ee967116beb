#pragma once

#include "replication/DoveadmConnection.hpp"

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>

namespace dovewarden::replication {

// The connection to doveadm opened ahead for the next request. doveadm's
// process reads its settings when it accepts a connection, a few
// milliseconds of every request, so a client opens the next request's
// connection after each answer and parks it here. The next request, from any
// thread, takes it unless doveadm closed it, Dovecot was started anew
// (another socket at the unix socket's path) or it is older than the
// lifetime. It is closed when the lifetime ends, taken or not: it holds one
// doveadm process, which keeps the settings it read and outlives a stop of
// Dovecot while the connection lasts. One connection waits at most.
class ReadyConnection {
public:
  using Clock = DoveadmConnection::Clock;
  using Open = std::function<
      tl::expected<std::unique_ptr<DoveadmConnection>, DoveadmFailure>()>;

  // socket_path: a unix socket's path, or empty.
  ReadyConnection(std::chrono::milliseconds lifetime, std::string socket_path);
  ~ReadyConnection();
  ReadyConnection(const ReadyConnection &) = delete;
  ReadyConnection &operator=(const ReadyConnection &) = delete;

  // The connection, if one waits and is fit for a request.
  std::unique_ptr<DoveadmConnection> take();
  // Parks a connection from open() unless one waits already; a failure is
  // left to the next request, which connects itself.
  void prepare(const Open &open);

private:
  void expire();

  const std::chrono::milliseconds m_lifetime;
  const std::string m_socket_path;
  std::mutex m_mutex;
  std::condition_variable m_changed;
  std::unique_ptr<DoveadmConnection> m_connection;
  Clock::time_point m_since;
  std::pair<dev_t, ino_t> m_socket{}; // which socket m_socket_path named
  bool m_closing = false;
  std::thread m_expiry;
};

} // namespace dovewarden::replication
