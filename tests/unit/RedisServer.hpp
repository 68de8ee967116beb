#pragma once

#include "FreePort.hpp"
#include "Wait.hpp"

#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace dovewarden::test {

// A redis-server of its own, for a test or a benchmark: a child process on a
// free 127.0.0.1 port, working in a temporary directory, without persistence
// unless extra arguments ask for it. Stopped and removed on destruction.
// Throws if /usr/bin/redis-server is missing or does not start.
class RedisServer {
public:
  static constexpr const char *k_binary = "/usr/bin/redis-server";

  explicit RedisServer(std::vector<std::string> extra = {})
      : m_extra(std::move(extra)) {
    if (::access(k_binary, X_OK) != 0)
      throw std::runtime_error(std::string(k_binary) +
                               " is missing: install redis-server");
    char name[] = "/tmp/dovewarden-redis-XXXXXX";
    if (::mkdtemp(name) == nullptr)
      throw std::runtime_error("mkdtemp failed");
    m_directory = name;
    m_port = test::free_port();
    start();
  }
  RedisServer(const RedisServer &) = delete;
  RedisServer &operator=(const RedisServer &) = delete;
  ~RedisServer() {
    stop();
    std::error_code ignored;
    std::filesystem::remove_all(m_directory, ignored);
  }

  int port() const { return m_port; }
  pid_t pid() const { return m_pid; }

  // Starts the server again on the same port and directory.
  void start() {
    if (m_pid > 0)
      return;
    std::vector<std::string> arguments{k_binary,
                                       "--port",
                                       std::to_string(m_port),
                                       "--bind",
                                       "127.0.0.1",
                                       "--save",
                                       "",
                                       "--appendonly",
                                       "no",
                                       "--daemonize",
                                       "no",
                                       "--dir",
                                       m_directory,
                                       "--logfile",
                                       m_directory + "/redis.log"};
    arguments.insert(arguments.end(), m_extra.begin(), m_extra.end());
    std::vector<char *> argv;
    for (auto &argument : arguments)
      argv.push_back(argument.data());
    argv.push_back(nullptr);
    const pid_t pid = ::fork();
    if (pid < 0)
      throw std::runtime_error("fork failed");
    if (pid == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGTERM);
      ::execv(k_binary, argv.data());
      ::_exit(127);
    }
    m_pid = pid;
    wait_until_listening();
  }

  // Stops the server (SIGTERM: it writes its append-only file, if any).
  void stop() {
    if (m_pid <= 0)
      return;
    ::kill(m_pid, SIGTERM);
    int status = 0;
    ::waitpid(m_pid, &status, 0);
    m_pid = -1;
  }

private:
  void wait_until_listening() {
    bool exited = false;
    const bool up = wait_until(
        [&] {
          int status = 0;
          exited = ::waitpid(m_pid, &status, WNOHANG) == m_pid;
          return exited || listening();
        },
        std::chrono::seconds(20));
    if (exited) {
      m_pid = -1;
      throw std::runtime_error("redis-server exited at start; see " +
                               m_directory + "/redis.log");
    }
    if (!up) {
      stop();
      throw std::runtime_error("redis-server did not start listening");
    }
  }

  // Returns whether the server answers PING with PONG (or asks for the
  // password first): listening is not enough, as a server still loading its
  // append-only file answers LOADING.
  bool listening() const {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
      return false;
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = htons(static_cast<std::uint16_t>(m_port));
    const timeval patience{1, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &patience, sizeof patience);
    char reply[64] = {};
    const bool ready =
        ::connect(fd, reinterpret_cast<sockaddr *>(&address),
                  sizeof address) == 0 &&
        ::write(fd, "PING\r\n", 6) == 6 &&
        ::read(fd, reply, sizeof reply - 1) > 0 &&
        (std::string_view(reply).rfind("+PONG", 0) == 0 ||
         std::string_view(reply).rfind("-NOAUTH", 0) == 0);
    ::close(fd);
    return ready;
  }

  std::vector<std::string> m_extra;
  std::string m_directory;
  int m_port = 0;
  pid_t m_pid = -1;
};

} // namespace dovewarden::test
