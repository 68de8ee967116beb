#pragma once

#include <sys/socket.h>

#include <algorithm>
#include <mutex>
#include <utility>
#include <vector>

namespace dovewarden::test {

// The connections a test stand-in accepted that have not sent their request
// yet, for a test to close at once, as doveadm's processes close theirs when
// Dovecot stops.
class WaitingConnections {
public:
  // Counts fd as waiting until done() or the end of its scope.
  class Waiting {
  public:
    Waiting(WaitingConnections &all, int fd) : m_all(all), m_fd(fd) {
      std::lock_guard<std::mutex> lock(m_all.m_mutex);
      m_all.m_fds.push_back(m_fd);
    }
    ~Waiting() { done(); }
    Waiting(const Waiting &) = delete;
    Waiting &operator=(const Waiting &) = delete;

    void done() {
      if (m_fd < 0)
        return;
      std::lock_guard<std::mutex> lock(m_all.m_mutex);
      auto &fds = m_all.m_fds;
      fds.erase(std::remove(fds.begin(), fds.end(), std::exchange(m_fd, -1)),
                fds.end());
    }

  private:
    WaitingConnections &m_all;
    int m_fd;
  };

  // Shuts every waiting connection down.
  void close_all() {
    std::lock_guard<std::mutex> lock(m_mutex);
    for (const int fd : m_fds)
      ::shutdown(fd, SHUT_RDWR);
  }

private:
  std::mutex m_mutex;
  std::vector<int> m_fds;
};

} // namespace dovewarden::test
