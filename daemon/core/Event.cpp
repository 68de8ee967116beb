#include "core/Event.hpp"

#include <cstdint>
#include <variant>

namespace dovewarden::core {

Event Event::internal(std::string type) {
  Event event;
  event.message.type = std::move(type);
  event.source = "daemon";
  event.received = std::chrono::system_clock::now();
  const auto micros = std::chrono::duration_cast<std::chrono::microseconds>(
      event.received.time_since_epoch());
  event.message.set("ts", static_cast<std::int64_t>(micros.count()));
  return event;
}

std::optional<std::uint64_t> unsigned_field(const wire::Message &message,
                                            std::string_view key) {
  const auto *value = message.find(key);
  if (value == nullptr)
    return std::nullopt;
  if (const auto *u = std::get_if<std::uint64_t>(value))
    return *u;
  if (const auto *i = std::get_if<std::int64_t>(value); i != nullptr && *i >= 0)
    return static_cast<std::uint64_t>(*i);
  return std::nullopt;
}

} // namespace dovewarden::core
