#pragma once

#include "core/Event.hpp"

#include <chrono>
#include <string>

namespace dovewarden::bus {

// Receives the events it subscribed to, one at a time, on a worker thread of
// its own (see Bus): the stream sink, the replication feed and the webhook
// dispatcher.
class Subscriber {
public:
  virtual ~Subscriber() = default;

  // Returns a short stable name ("stream"), used as a metric label and in
  // logs.
  virtual std::string name() const = 0;
  // Handles one event. Throws on failure; the bus counts and logs it and goes
  // on with the next event.
  virtual void handle(const core::Event &event) = 0;
  // Returns how often flush() is called on a timer; zero: never.
  virtual std::chrono::milliseconds flush_interval() const { return {}; }
  // Returns true if flush() should also run whenever the queue runs empty
  // (with a flush_interval()): no event then waits for the timer, and
  // batches still grow under load, while flush() runs.
  virtual bool flush_when_idle() const { return false; }
  // Writes out anything batched. Called every flush_interval() and once
  // before stop(). Throws on failure, as handle().
  virtual void flush() {}
  // Called once after the last event and the last flush(); releases what
  // the subscriber holds.
  virtual void stop() {}
};

} // namespace dovewarden::bus
