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
#include <fstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace dovewarden::test {

// A redis-server of its own, for a test or a benchmark: a child process on a
// free 127.0.0.1 port, working in a temporary directory, without persistence
// unless extra arguments ask for it. Stopped and removed on destruction.
// Throws if /usr/bin/redis-server is missing or does not start.
//
// Or a Redis Sentinel (Debian's redis-sentinel) with the configuration lines
// given, which it rewrites as it learns.
class RedisServer {
public:
  static constexpr const char *k_binary = "/usr/bin/redis-server";
  static constexpr const char *k_sentinel_binary = "/usr/bin/redis-sentinel";
  struct Sentinel {
    std::string configuration; // e.g. "sentinel monitor NAME HOST PORT 1\n"
  };

  explicit RedisServer(std::vector<std::string> extra = {})
      : RedisServer(k_binary, std::move(extra)) {}
  explicit RedisServer(const Sentinel &sentinel,
                       std::vector<std::string> extra = {})
      : RedisServer(k_sentinel_binary, std::move(extra),
                    sentinel.configuration) {}
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
    std::vector<std::string> arguments{m_binary};
    if (!m_configuration.empty())
      arguments.push_back(m_directory + "/redis.conf");
    arguments.insert(arguments.end(),
                     {"--port", std::to_string(m_port), "--bind", "127.0.0.1",
                      "--save", "", "--appendonly", "no", "--daemonize", "no",
                      "--dir", m_directory, "--logfile",
                      m_directory + "/redis.log"});
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
      ::execv(m_binary.c_str(), argv.data());
      ::_exit(127);
    }
    m_pid = pid;
    wait_until_answering();
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
  RedisServer(std::string binary, std::vector<std::string> extra,
              std::string configuration = {})
      : m_binary(std::move(binary)), m_extra(std::move(extra)),
        m_configuration(std::move(configuration)) {
    if (::access(m_binary.c_str(), X_OK) != 0)
      throw std::runtime_error(
          m_binary + " is missing: install " +
          std::filesystem::path(m_binary).filename().string());
    char name[] = "/tmp/dovewarden-redis-XXXXXX";
    if (::mkdtemp(name) == nullptr)
      throw std::runtime_error("mkdtemp failed");
    m_directory = name;
    if (!m_configuration.empty())
      std::ofstream(m_directory + "/redis.conf") << m_configuration;
    m_port = test::free_port();
    start();
  }

  void wait_until_answering() {
    bool exited = false;
    const bool up = wait_until(
        [&] {
          int status = 0;
          exited = ::waitpid(m_pid, &status, WNOHANG) == m_pid;
          return exited || answering();
        },
        std::chrono::seconds(20));
    if (exited) {
      m_pid = -1;
      throw std::runtime_error("redis-server exited at start; see " +
                               m_directory + "/redis.log");
    }
    if (!up) {
      stop();
      throw std::runtime_error("redis-server did not start answering");
    }
  }

  // Whether the server answers a PING with other than -LOADING: it takes
  // connections before it has loaded its data. (-NOAUTH, from a server with
  // a password, is an answer too.)
  bool answering() const {
    const util::Fd fd(::socket(AF_INET, SOCK_STREAM, 0));
    if (!fd)
      return false;
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = htons(static_cast<std::uint16_t>(m_port));
    const timeval timeout{1, 0};
    ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    constexpr std::string_view ping = "PING\r\n", loading = "-LOADING";
    if (::connect(fd.get(), reinterpret_cast<sockaddr *>(&address),
                  sizeof address) != 0 ||
        ::send(fd.get(), ping.data(), ping.size(), MSG_NOSIGNAL) !=
            static_cast<ssize_t>(ping.size()))
      return false;
    char reply[64];
    const ssize_t got = ::recv(fd.get(), reply, sizeof reply, 0);
    return got > 0 && std::string_view(reply, static_cast<std::size_t>(got))
                              .compare(0, loading.size(), loading) != 0;
  }

  std::string m_binary;
  std::vector<std::string> m_extra;
  std::string m_configuration; // written to redis.conf, first argument
  std::string m_directory;
  int m_port = 0;
  pid_t m_pid = -1;
};

} // namespace dovewarden::test
