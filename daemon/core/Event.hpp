#pragma once

#include "shared/wire.hpp"

#include <chrono>
#include <string>

namespace dovewarden::core {

// The one event type every stage passes on: what the plugin (or another
// source, or the daemon itself) said, plus where and when it arrived.
struct Event {
  wire::Message message; // type and fields in wire order
  std::string source;    // "zmq", "http", "daemon"
  std::chrono::system_clock::time_point received;

  const std::string &type() const { return message.type; }

  // Returns an event raised by the daemon itself: source "daemon", received
  // now, and a "ts" field (µs since the epoch) as plugin events have.
  static Event internal(std::string type);
};

} // namespace dovewarden::core
