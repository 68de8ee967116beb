#pragma once

#include "util/ListenAddress.hpp"

#include <tl/expected.hpp>

#include <memory>
#include <string>
#include <thread>

namespace httplib {
class Server;
}

namespace dovewarden::util {

// An HTTP server (cpp-httplib) on one address, serving on threads of its own.
// Owners add their routes through server() before start(). Unlike
// cpp-httplib's default it does not set SO_REUSEPORT, so a second daemon on
// the same port fails to bind instead of sharing it.
class HttpListener {
public:
  HttpListener(std::string name, ListenAddress address, int threads = 2);
  HttpListener(const HttpListener &) = delete;
  HttpListener &operator=(const HttpListener &) = delete;
  ~HttpListener();

  httplib::Server &server() { return *m_server; }

  // Binds the address (":PORT": every interface, IPv6 and IPv4) and starts
  // serving. Returns an error text if the address cannot be bound.
  tl::expected<void, std::string> start();
  // Stops serving and joins the threads. Idempotent.
  void stop();

private:
  std::string m_name;
  ListenAddress m_address;
  std::unique_ptr<httplib::Server> m_server;
  std::thread m_thread;
};

} // namespace dovewarden::util
