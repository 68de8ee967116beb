#pragma once

#include "util/Fd.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <stdexcept>
#include <utility>

namespace dovewarden::test {

// Returns a 127.0.0.1 port the kernel just handed out and took back.
// Throws std::runtime_error if there is none.
inline std::uint16_t free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t size = sizeof(address);
  const bool bound =
      fd >= 0 &&
      ::bind(fd, reinterpret_cast<sockaddr *>(&address), size) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr *>(&address), &size) == 0;
  if (fd >= 0)
    ::close(fd);
  if (!bound)
    throw std::runtime_error("no free port on 127.0.0.1");
  return ntohs(address.sin_port);
}

// Returns a socket listening on 127.0.0.1, on a port the kernel picked, and
// that port. Throws std::runtime_error if there is none.
inline std::pair<util::Fd, std::uint16_t> loopback_listener(int backlog = 16) {
  util::Fd fd(::socket(AF_INET, SOCK_STREAM, 0));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t size = sizeof(address);
  auto *generic = reinterpret_cast<sockaddr *>(&address);
  if (!fd || ::bind(fd.get(), generic, size) != 0 ||
      ::listen(fd.get(), backlog) != 0 ||
      ::getsockname(fd.get(), generic, &size) != 0)
    throw std::runtime_error("cannot listen on 127.0.0.1");
  return {std::move(fd), ntohs(address.sin_port)};
}

} // namespace dovewarden::test
