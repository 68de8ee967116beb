#pragma once

namespace httplib {
class Server;
}

namespace dovewarden::admin {

// A set of admin API routes that AdminServer serves beside its own: it
// authorizes every request before any handler sees it, so route sets never
// deal with the token.
class Routes {
public:
  virtual ~Routes() = default;
  // Adds the handlers to server. Throws nothing.
  virtual void install(httplib::Server &server) = 0;
};

} // namespace dovewarden::admin
