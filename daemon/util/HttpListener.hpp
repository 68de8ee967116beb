#pragma once

#include "util/HttpLimits.hpp"
#include "util/HttpRouter.hpp"
#include "util/ListenAddress.hpp"

#include <tl/expected.hpp>

#include <array>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace dovewarden::util {

// An HTTP/1.1 server on one address (Boost.Beast, docs/ARCHITECTURE.md):
// one I/O thread reads and writes every connection within limits, and a
// pool of limits.threads runs the handlers, so that neither a slow client
// nor a slow handler holds up the others. Owners add their routes through
// router() before start(). It does not set SO_REUSEPORT, so a second daemon
// on the same port fails to bind instead of sharing it.
class HttpListener {
public:
  HttpListener(std::string name, ListenAddress address, HttpLimits limits);
  HttpListener(const HttpListener &) = delete;
  HttpListener &operator=(const HttpListener &) = delete;
  ~HttpListener();

  // Counts a connection closed for breaking a limit: "head_timeout",
  // "body_timeout", "header_too_large", "bad_request", "evicted_idle" or
  // "too_many_connections".
  using DropCounter = std::function<void(std::string_view reason)>;
  static constexpr std::array<const char *, 6> k_drop_reasons{
      "head_timeout", "body_timeout", "header_too_large",
      "bad_request",  "evicted_idle", "too_many_connections"};

  HttpRouter &router() { return m_router; }
  // Calls count for each connection dropped; set it before start().
  void on_drop(DropCounter count) { m_drop = std::move(count); }
  const HttpLimits &limits() const { return m_limits; }

  // Binds the address (":PORT": every interface, IPv6 and IPv4) and starts
  // serving. Returns an error text if the address cannot be bound.
  tl::expected<void, std::string> start();
  // Stops serving: closes every connection and waits for the handlers
  // running. Idempotent.
  void stop();

  // Returns the connections open now.
  std::size_t connections() const;

private:
  class Server;

  std::string m_name;
  ListenAddress m_address;
  HttpLimits m_limits;
  HttpRouter m_router;
  DropCounter m_drop;
  std::unique_ptr<Server> m_server;
};

} // namespace dovewarden::util
