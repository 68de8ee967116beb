#pragma once

#include "bus/Subscriber.hpp"
#include "core/Event.hpp"
#include "filter/EventFilter.hpp"

#include <cstddef>
#include <memory>
#include <string_view>
#include <vector>

namespace dovewarden::metrics {
class Metrics;
}

namespace dovewarden::bus {

// Publish/subscribe between the sources and the subscribers (sinks). Each
// subscription has its own bounded queue and worker thread, so a slow
// subscriber does not delay the others while its queue has room.
//
// Overflow policy: by default publish() waits for room in a full queue, which
// pushes back on the source (the ZeroMQ PULL socket stops reading, and the
// plugin's bounded queue drops and counts); the wait is counted in
// dovewarden_bus_blocked_seconds_total. A subscription may choose to drop
// instead; drops are counted in dovewarden_bus_dropped_total. Nothing is
// dropped silently.
//
// Subscribe, then start(), then publish(): publish() is safe from any number
// of threads, but before start() nothing empties the queues.
class Bus {
public:
  enum class Overflow { block, drop };

  struct Options {
    std::size_t queue_capacity = 10000;
    Overflow overflow = Overflow::block;
  };

  explicit Bus(metrics::Metrics &metrics);
  Bus(const Bus &) = delete;
  Bus &operator=(const Bus &) = delete;
  ~Bus();

  // Delivers events that filter passes to subscriber. Throws std::logic_error
  // after start().
  void subscribe(std::unique_ptr<filter::EventFilter> filter,
                 std::shared_ptr<Subscriber> subscriber, Options options);
  // As above with comma-separated type globs ("message.*,flags.*"). Throws
  // std::invalid_argument if the globs do not parse.
  void subscribe(std::string_view type_globs,
                 std::shared_ptr<Subscriber> subscriber, Options options);
  void subscribe(std::string_view type_globs,
                 std::shared_ptr<Subscriber> subscriber) {
    subscribe(type_globs, std::move(subscriber), Options{});
  }

  // Starts one worker thread per subscription.
  void start();

  // Queues event for every subscription whose filter passes it, waiting
  // while a blocking subscription's queue is full. Returns how many
  // subscriptions took it: 0 means none wanted it, or the bus is stopped.
  std::size_t publish(std::shared_ptr<const core::Event> event);
  std::size_t publish(const core::Event &event) {
    return publish(std::make_shared<const core::Event>(event));
  }

  // Refuses new events, lets every worker drain its queue, flush and stop its
  // subscriber, and joins the workers. Idempotent.
  void stop();

private:
  class Subscription;

  metrics::Metrics &m_metrics;
  std::vector<std::unique_ptr<Subscription>> m_subscriptions;
  bool m_started = false;
  bool m_stopped = false;
};

} // namespace dovewarden::bus
