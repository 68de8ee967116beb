#pragma once

#include "replication/DoveadmFailure.hpp"
#include "util/Fd.hpp"

#include <tl/expected.hpp>

#include <atomic>
#include <chrono>
#include <string>
#include <string_view>

struct addrinfo;

namespace dovewarden::replication {

// One non-blocking connection to a doveadm server socket, unix or tcp, that
// reads and writes lines. Every wait ends at the deadline and is cut short
// by the cancelled flag; failures are DoveadmFailure::Kind::temporary
// (unreachable if no connection could be made) and name `where`.
class DoveadmConnection {
public:
  using Clock = std::chrono::steady_clock;

  DoveadmConnection(const std::atomic<bool> &cancelled, std::string where);

  // What every later wait may last until.
  void set_deadline(Clock::time_point deadline) { m_deadline = deadline; }

  tl::expected<void, DoveadmFailure> open_unix(const std::string &path);
  // connected_by bounds the connect alone, if sooner than the deadline.
  tl::expected<void, DoveadmFailure> open_tcp(const std::string &host,
                                              const std::string &port,
                                              Clock::time_point connected_by);

  tl::expected<void, DoveadmFailure> send(std::string_view data);
  // Returns the next line without its '\n'.
  tl::expected<std::string, DoveadmFailure> line();

  // Gives up the socket, connected, to the caller, who closes it.
  int release() { return m_fd.release(); }

  // Whether the peer has neither closed the connection nor sent anything
  // unasked since the last line(): a connection waiting for a command.
  bool quiet() const;

private:
  tl::expected<void, DoveadmFailure> connect_to(const ::addrinfo &address,
                                                Clock::time_point by);
  tl::expected<void, DoveadmFailure> wait(short events,
                                          Clock::time_point until);
  DoveadmFailure system_failure(const char *what) const;
  // connect() failed (errno): doveadm itself cannot be reached
  DoveadmFailure unreachable() const;

  const std::atomic<bool> &m_cancelled;
  std::string m_where;
  Clock::time_point m_deadline;
  util::Fd m_fd;
  std::string m_buffer;
  std::size_t m_scanned = 0;
};

} // namespace dovewarden::replication
