#pragma once

#include <string>

namespace dovewarden::sources {

// Something that receives events from outside and submits them to the
// Pipeline: the ZeroMQ PULL socket, and HTTP POST /events.
class Source {
public:
  virtual ~Source() = default;

  // Returns a short stable name ("zmq"), used in metric labels and logs.
  virtual std::string name() const = 0;
  // Binds and starts receiving. Throws util::Fatal naming the setting if the
  // source cannot be set up.
  virtual void start() = 0;
  // Stops receiving and hands on what was already accepted. Idempotent.
  virtual void stop() = 0;
  // Returns true while the source is bound and receiving.
  virtual bool ready() const = 0;
  // Returns where it receives, for the start-up log line.
  virtual std::string describe() const = 0;
};

} // namespace dovewarden::sources
