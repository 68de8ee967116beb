#pragma once

#include "Wait.hpp"

#include <boost/test/unit_test.hpp>
#include <httplib.h>

#include <string>
#include <thread>

namespace dovewarden::test {

// An httplib server on 127.0.0.1, on a port the kernel picks. A test adds
// its routes to server(), then calls start(); the server listens on a
// thread of its own until stop() or its destruction. An owner whose
// handlers use its other members calls stop() first in its destructor.
class HttpServer {
public:
  HttpServer() = default;
  ~HttpServer() { stop(); }
  HttpServer(const HttpServer &) = delete;
  HttpServer &operator=(const HttpServer &) = delete;

  httplib::Server &server() { return m_server; }

  // Listens. Fails the test unless the server is running.
  void start() {
    m_port = m_server.bind_to_any_port("127.0.0.1");
    BOOST_REQUIRE(m_port > 0);
    m_thread = std::thread([this] { m_server.listen_after_bind(); });
    // stop() is lost on a server not yet listening
    BOOST_REQUIRE(wait_until([this] { return m_server.is_running(); }));
  }

  // Stops listening, and returns once the requests under way are answered.
  void stop() {
    if (!m_thread.joinable())
      return;
    m_server.stop();
    m_thread.join();
  }

  int port() const { return m_port; }
  // Returns the URL of path, which is empty or starts with "/".
  std::string url(const std::string &path = "") const {
    return "http://127.0.0.1:" + std::to_string(m_port) + path;
  }

private:
  httplib::Server m_server;
  int m_port = 0;
  std::thread m_thread;
};

} // namespace dovewarden::test
