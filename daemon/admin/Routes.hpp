#pragma once

#include "admin/AdminEvents.hpp"

#include <string_view>
#include <utility>
#include <vector>

namespace dovewarden::util {
class HttpRouter;
struct HttpRequest;
} // namespace dovewarden::util

namespace dovewarden::admin {

// A set of admin API routes that AdminServer serves beside its own: it
// authorizes every request before any handler sees it, so route sets never
// deal with the token. A handler that changed something says so with
// changed(), which raises admin.<action> (AdminEvents).
class Routes {
public:
  virtual ~Routes() = default;
  // Adds the handlers to router. Throws nothing.
  virtual void install(util::HttpRouter &router) = 0;
  // Raises the events of changes through events from now on.
  void report_to(const AdminEvents &events) { m_events = &events; }

protected:
  void changed(std::string_view action, const util::HttpRequest &request,
               int status, std::vector<wire::Field> what = {}) const {
    if (m_events != nullptr)
      m_events->changed(action, request, status, std::move(what));
  }

private:
  const AdminEvents *m_events = nullptr;
};

} // namespace dovewarden::admin
