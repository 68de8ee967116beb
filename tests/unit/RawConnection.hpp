#pragma once

#include "util/Fd.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

namespace dovewarden::test {

// A TCP connection to a loopback port that a test writes bytes to as it
// likes, the way a slow or hostile client would, and reads answers from.
class RawConnection {
public:
  // Connects to 127.0.0.1:port. Throws std::runtime_error if it cannot.
  explicit RawConnection(std::uint16_t port)
      : m_fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = htons(port);
    if (!m_fd || ::connect(m_fd.get(), reinterpret_cast<sockaddr *>(&address),
                           sizeof(address)) != 0)
      throw std::runtime_error("cannot connect to port " +
                               std::to_string(port));
  }

  // Returns false if the peer no longer takes bytes.
  bool send(std::string_view bytes) {
    while (!bytes.empty()) {
      const auto sent =
          ::send(m_fd.get(), bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (sent <= 0)
        return false;
      bytes.remove_prefix(static_cast<std::size_t>(sent));
    }
    return true;
  }

  // Reads what arrives within timeout, until the peer closes or the text
  // holds until (if given). Returns what was read.
  std::string receive(std::chrono::milliseconds timeout,
                      std::string_view until = {}) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!m_closed && (until.empty() || m_read.find(until) == npos)) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      pollfd wanted{m_fd.get(), POLLIN, 0};
      if (left.count() <= 0 ||
          ::poll(&wanted, 1, static_cast<int>(left.count())) <= 0)
        break;
      char buffer[4096];
      const auto got = ::recv(m_fd.get(), buffer, sizeof(buffer), 0);
      if (got <= 0)
        m_closed = true;
      else
        m_read.append(buffer, static_cast<std::size_t>(got));
    }
    return m_read;
  }

  // Returns true if the peer closed the connection within timeout.
  bool closed_within(std::chrono::milliseconds timeout) {
    receive(timeout);
    return m_closed;
  }

  // Forgets what was read so far.
  void clear() { m_read.clear(); }

private:
  static constexpr auto npos = std::string::npos;

  util::Fd m_fd;
  std::string m_read;
  bool m_closed = false;
};

} // namespace dovewarden::test
