#include "replication/DoveadmConnection.hpp"

#include "util/System.hpp"

#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <utility>

namespace dovewarden::replication {

namespace {

using Kind = DoveadmFailure::Kind;

constexpr std::size_t k_max_answer = std::size_t{64} * 1024 * 1024;
constexpr auto k_cancel_check = std::chrono::milliseconds(100);

} // namespace

DoveadmConnection::DoveadmConnection(const std::atomic<bool> &cancelled,
                                     std::string where)
    : m_cancelled(cancelled), m_where(std::move(where)) {}

tl::expected<void, DoveadmFailure>
DoveadmConnection::open_unix(const std::string &path) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (path.size() >= sizeof(address.sun_path))
    return tl::unexpected(
        doveadm_failure(Kind::temporary, m_where + ": the path is too long"));
  std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
  m_fd.reset(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!m_fd)
    return tl::unexpected(system_failure("cannot make a socket"));
  // EAGAIN: doveadm listens, with its backlog full
  if (::connect(m_fd.get(), reinterpret_cast<const sockaddr *>(&address),
                sizeof(address)) != 0)
    return tl::unexpected(errno == EAGAIN ? system_failure("cannot connect")
                                          : unreachable());
  return {};
}

tl::expected<void, DoveadmFailure>
DoveadmConnection::open_tcp(const std::string &host, const std::string &port,
                            Clock::time_point connected_by) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo *found = nullptr;
  const int resolved =
      ::getaddrinfo(host.c_str(), port.c_str(), &hints, &found);
  if (resolved != 0)
    return tl::unexpected(doveadm_failure(
        Kind::unreachable, m_where + ": " + ::gai_strerror(resolved)));
  std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> addresses(
      found, &::freeaddrinfo);
  tl::expected<void, DoveadmFailure> result;
  for (const addrinfo *a = found; a != nullptr; a = a->ai_next) {
    result = connect_to(*a, std::min(connected_by, m_deadline));
    if (result || m_cancelled)
      break;
  }
  return result;
}

tl::expected<void, DoveadmFailure>
DoveadmConnection::send(std::string_view data) {
  while (!data.empty()) {
    const ssize_t sent =
        ::send(m_fd.get(), data.data(), data.size(), MSG_NOSIGNAL);
    if (sent > 0) {
      data.remove_prefix(static_cast<std::size_t>(sent));
      continue;
    }
    if (errno != EAGAIN && errno != EINTR)
      return tl::unexpected(system_failure("cannot send"));
    if (auto ready = wait(POLLOUT, m_deadline); !ready)
      return ready;
  }
  return {};
}

tl::expected<std::string, DoveadmFailure> DoveadmConnection::line() {
  for (;;) {
    const auto end = m_buffer.find('\n', m_scanned);
    if (end != std::string::npos) {
      std::string line = m_buffer.substr(0, end);
      m_buffer.erase(0, end + 1);
      m_scanned = 0;
      return line;
    }
    m_scanned = m_buffer.size();
    if (m_buffer.size() > k_max_answer)
      return tl::unexpected(doveadm_failure(
          Kind::protocol, m_where + ": an answer larger than " +
                              std::to_string(k_max_answer) + " bytes"));
    char chunk[16384];
    const ssize_t got = ::recv(m_fd.get(), chunk, sizeof(chunk), 0);
    if (got > 0) {
      m_buffer.append(chunk, static_cast<std::size_t>(got));
    } else if (got == 0) {
      // doveadm's process ends this way when dsync cannot reach the
      // destination
      return tl::unexpected(doveadm_failure(
          Kind::temporary, m_where + ": doveadm closed the connection "
                                     "without an answer (is the "
                                     "destination down?)"));
    } else if (errno != EAGAIN && errno != EINTR) {
      return tl::unexpected(system_failure("cannot read"));
    } else if (auto ready = wait(POLLIN, m_deadline); !ready) {
      return tl::unexpected(ready.error());
    }
  }
}

bool DoveadmConnection::quiet() const {
  pollfd watched{m_fd.get(), POLLIN, 0};
  return m_buffer.empty() && ::poll(&watched, 1, 0) == 0;
}

tl::expected<void, DoveadmFailure>
DoveadmConnection::connect_to(const addrinfo &address, Clock::time_point by) {
  m_fd.reset(::socket(address.ai_family,
                      address.ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                      address.ai_protocol));
  if (!m_fd)
    return tl::unexpected(system_failure("cannot make a socket"));
  if (::connect(m_fd.get(), address.ai_addr, address.ai_addrlen) == 0)
    return {};
  if (errno != EINPROGRESS)
    return tl::unexpected(unreachable());
  if (auto ready = wait(POLLOUT, by); !ready) {
    if (m_cancelled)
      return ready;
    return tl::unexpected(doveadm_failure(
        Kind::unreachable, m_where + ": cannot connect: timed out"));
  }
  int error = 0;
  socklen_t size = sizeof(error);
  ::getsockopt(m_fd.get(), SOL_SOCKET, SO_ERROR, &error, &size);
  if (error != 0) {
    errno = error;
    return tl::unexpected(unreachable());
  }
  return {};
}

tl::expected<void, DoveadmFailure>
DoveadmConnection::wait(short events, Clock::time_point until) {
  for (;;) {
    if (m_cancelled)
      return tl::unexpected(
          doveadm_failure(Kind::temporary, "doveadm request cancelled"));
    const auto left = until - Clock::now();
    if (left <= Clock::duration::zero())
      return tl::unexpected(doveadm_failure(
          Kind::temporary, m_where + ": doveadm request timed out"));
    pollfd watched{m_fd.get(), events, 0};
    const auto slice = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::min<Clock::duration>(left, k_cancel_check));
    const int ready = ::poll(&watched, 1, static_cast<int>(slice.count()) + 1);
    if (ready > 0)
      return {};
    if (ready < 0 && errno != EINTR)
      return tl::unexpected(system_failure("poll"));
  }
}

DoveadmFailure DoveadmConnection::unreachable() const {
  auto failure = system_failure("cannot connect");
  failure.kind = Kind::unreachable;
  return failure;
}

DoveadmFailure DoveadmConnection::system_failure(const char *what) const {
  return doveadm_failure(Kind::temporary, m_where + ": " + what + ": " +
                                              util::error_text(errno));
}

} // namespace dovewarden::replication
