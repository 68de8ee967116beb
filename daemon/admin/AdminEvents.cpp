#include "admin/AdminEvents.hpp"

#include "admin/AdminToken.hpp"
#include "util/HttpRequest.hpp"

#include <cstdint>
#include <filesystem>
#include <utility>

namespace dovewarden::admin {

std::string AdminEvents::actor_of(const AdminToken &token) {
  const auto &origin = token.origin();
  if (origin == AdminToken::k_token_env)
    return "admin:" + origin;
  return "admin:" + std::filesystem::path(origin).filename().string();
}

void AdminEvents::publish_to(Publish publish) {
  const std::lock_guard lock(m_mutex);
  m_publish = std::move(publish);
}

void AdminEvents::changed(std::string_view action,
                          const util::HttpRequest &request, int status,
                          std::vector<wire::Field> what) const {
  Publish publish;
  {
    const std::lock_guard lock(m_mutex);
    publish = m_publish;
  }
  if (!publish)
    return;
  auto event = core::Event::internal("admin." + std::string(action));
  auto &message = event.message;
  message.set("actor", m_actor);
  message.set("ip", request.remote);
  message.set("port", static_cast<std::uint64_t>(request.remote_port()));
  message.set("method", request.method);
  message.set("path", request.path);
  message.set("status", static_cast<std::int64_t>(status));
  for (auto &field : what)
    message.set(field.key, std::move(field.value));
  publish(std::move(event));
}

} // namespace dovewarden::admin
