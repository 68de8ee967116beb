#pragma once

namespace dovewarden::util {
class HttpRouter;
}

namespace dovewarden::admin {

// A set of admin API routes that AdminServer serves beside its own: it
// authorizes every request before any handler sees it, so route sets never
// deal with the token.
class Routes {
public:
  virtual ~Routes() = default;
  // Adds the handlers to router. Throws nothing.
  virtual void install(util::HttpRouter &router) = 0;
};

} // namespace dovewarden::admin
