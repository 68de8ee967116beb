#pragma once

#include "core/Event.hpp"

#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace dovewarden::util {
struct HttpRequest;
}

namespace dovewarden::admin {

class AdminToken;

// The admin.<action> events the admin API raises after each change it made,
// for the audit log: who (actor "admin:<token name>"), from where (ip,
// port), the request (method, path, status) and what it changed.
// Thread-safe.
class AdminEvents {
public:
  using Publish = std::function<void(core::Event)>;

  // Returns "admin:" and the token's name: its file's base name, or the
  // variable it came from.
  static std::string actor_of(const AdminToken &token);

  explicit AdminEvents(std::string actor) : m_actor(std::move(actor)) {}

  // Sends the events to publish from now on; none are raised before.
  void publish_to(Publish publish);

  // Raises admin.<action> for request, answered with status, and what it
  // changed (fields in order).
  void changed(std::string_view action, const util::HttpRequest &request,
               int status, std::vector<wire::Field> what) const;

private:
  std::string m_actor;
  mutable std::mutex m_mutex;
  Publish m_publish;
};

} // namespace dovewarden::admin
