#pragma once

#include "FreePort.hpp"
#include "ServerProcess.hpp"

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
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

  int port() const { return m_port; }
  pid_t pid() const { return m_process.pid(); }

  // Starts the server again on the same port and directory.
  void start() {
    const std::string &directory = m_process.directory();
    std::vector<std::string> arguments{m_binary};
    if (!m_configuration.empty())
      arguments.push_back(directory + "/redis.conf");
    arguments.insert(arguments.end(),
                     {"--port", std::to_string(m_port), "--bind", "127.0.0.1",
                      "--save", "", "--appendonly", "no", "--daemonize", "no",
                      "--dir", directory, "--logfile",
                      directory + "/redis.log"});
    arguments.insert(arguments.end(), m_extra.begin(), m_extra.end());
    m_process.start(
        std::move(arguments), directory + "/redis.log", {},
        [this] { return answering(); }, std::chrono::seconds(20));
  }

  // Stops the server (SIGTERM: it writes its append-only file, if any).
  void stop() { m_process.stop(); }

private:
  RedisServer(std::string binary, std::vector<std::string> extra,
              std::string configuration = {})
      : m_binary(installed(std::move(binary))), m_extra(std::move(extra)),
        m_configuration(std::move(configuration)) {
    if (!m_configuration.empty())
      std::ofstream(m_process.directory() + "/redis.conf") << m_configuration;
    m_port = test::free_port();
    start();
  }

  // Returns binary; throws if it is missing.
  static std::string installed(std::string binary) {
    if (::access(binary.c_str(), X_OK) != 0)
      throw std::runtime_error(
          binary + " is missing: install " +
          std::filesystem::path(binary).filename().string());
    return binary;
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
  ServerProcess m_process{"redis-server", "dovewarden-redis", SIGTERM, SIGTERM};
  int m_port = 0;
};

} // namespace dovewarden::test
