#include "replication/ReadyConnection.hpp"

#include <sys/stat.h>

namespace dovewarden::replication {

namespace {

// Which socket file path names now, {0, 0} if none.
std::pair<dev_t, ino_t> socket_at(const std::string &path) {
  struct stat status {};
  if (path.empty() || ::stat(path.c_str(), &status) != 0)
    return {};
  return {status.st_dev, status.st_ino};
}

} // namespace

ReadyConnection::ReadyConnection(std::chrono::milliseconds lifetime,
                                 std::string socket_path)
    : m_lifetime(lifetime), m_socket_path(std::move(socket_path)),
      m_expiry([this] { expire(); }) {}

ReadyConnection::~ReadyConnection() {
  {
    std::lock_guard lock(m_mutex);
    m_closing = true;
  }
  m_changed.notify_all();
  m_expiry.join();
}

std::unique_ptr<DoveadmConnection> ReadyConnection::take() {
  std::unique_ptr<DoveadmConnection> ready;
  std::pair<dev_t, ino_t> socket;
  {
    std::lock_guard lock(m_mutex);
    if (m_connection && Clock::now() - m_since >= m_lifetime)
      m_connection.reset();
    ready = std::move(m_connection);
    socket = m_socket;
  }
  if (ready && (!ready->quiet() || socket_at(m_socket_path) != socket))
    ready.reset();
  return ready;
}

void ReadyConnection::prepare(const Open &open) {
  {
    std::lock_guard lock(m_mutex);
    if (m_connection || m_closing)
      return;
  }
  const auto socket = socket_at(m_socket_path);
  auto opened = open();
  if (!opened)
    return;
  {
    std::lock_guard lock(m_mutex);
    if (m_connection || m_closing)
      return;
    m_connection = std::move(*opened);
    m_since = Clock::now();
    m_socket = socket;
  }
  m_changed.notify_all();
}

void ReadyConnection::expire() {
  std::unique_lock lock(m_mutex);
  while (!m_closing) {
    if (!m_connection) {
      m_changed.wait(lock);
      continue;
    }
    const auto expires = m_since + m_lifetime;
    if (Clock::now() >= expires)
      m_connection.reset();
    else
      m_changed.wait_until(lock, expires);
  }
  m_connection.reset();
}

} // namespace dovewarden::replication
