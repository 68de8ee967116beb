#pragma once

#include "shared/wire.hpp"

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace dovewarden::core {

// The process that sent an event as the kernel saw it when it connected
// (SO_PEERCRED on the ZeroMQ ipc socket), not as it claims.
struct Sender {
  std::uint32_t uid = 0;
  std::uint32_t gid = 0;
  std::int64_t pid = 0;
};

// The one event type every stage passes on: what the plugin (or another
// source, or the daemon itself) said, plus where, when and from whom it
// arrived.
struct Event {
  wire::Message message; // type and fields in wire order
  std::string source;    // "zmq", "http", "daemon"
  std::chrono::system_clock::time_point received;
  std::optional<Sender> sender{}; // known for ZeroMQ ipc peers only

  const std::string &type() const { return message.type; }

  // Returns an event raised by the daemon itself: source "daemon", received
  // now, and a "ts" field (µs since the epoch) as plugin events have.
  static Event internal(std::string type);
};

// Returns the value of key if it is an integer of at least 0, else nothing.
std::optional<std::uint64_t> unsigned_field(const wire::Message &message,
                                            std::string_view key);

} // namespace dovewarden::core
