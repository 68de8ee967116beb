#include "core/Event.hpp"

#include <cstdint>

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

} // namespace dovewarden::core
