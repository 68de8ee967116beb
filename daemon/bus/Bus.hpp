#pragma once

#include "bus/Subscriber.hpp"
#include "core/Event.hpp"
#include "filter/EventFilter.hpp"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
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
// instead; drops are counted in dovewarden_bus_dropped_total and logged at
// most once a minute. Nothing is dropped silently.
//
// publish() is safe from any number of threads; so are subscribe() and
// unsubscribe(), also while events flow. Before start() nothing empties the
// queues.
class Bus {
public:
  enum class Overflow { block, drop };
  using SubscriptionId = std::uint64_t;

  struct Options {
    std::size_t queue_capacity = 10000;
    Overflow overflow = Overflow::block;
  };

  explicit Bus(metrics::Metrics &metrics);
  Bus(const Bus &) = delete;
  Bus &operator=(const Bus &) = delete;
  ~Bus();

  // Delivers events that filter passes to subscriber, from now on. Returns
  // the subscription's id for unsubscribe().
  SubscriptionId subscribe(std::unique_ptr<filter::EventFilter> filter,
                           std::shared_ptr<Subscriber> subscriber,
                           Options options);
  // As above with comma-separated type globs ("message.*,flags.*"). Throws
  // std::invalid_argument if the globs do not parse.
  SubscriptionId subscribe(std::string_view type_globs,
                           std::shared_ptr<Subscriber> subscriber,
                           Options options);
  SubscriptionId subscribe(std::string_view type_globs,
                           std::shared_ptr<Subscriber> subscriber) {
    return subscribe(type_globs, std::move(subscriber), Options{});
  }
  // Takes no more events for the subscription, lets its worker handle what
  // it queued, flush and stop the subscriber, and joins it. Returns false if
  // id is unknown.
  bool unsubscribe(SubscriptionId id);

  // Starts one worker thread per subscription.
  void start();

  // Queues event for every subscription whose filter passes it, waiting
  // while a blocking subscription's queue is full. Returns how many
  // subscriptions took it: 0 means none wanted it, or the bus is stopped.
  std::size_t publish(const std::shared_ptr<const core::Event> &event);
  std::size_t publish(const core::Event &event) {
    return publish(std::make_shared<const core::Event>(event));
  }
  // Queues events in order as publish() each, taking each subscription's
  // queue once for all of them. Returns, for each event, how many
  // subscriptions took it.
  std::vector<std::size_t>
  publish(const std::vector<std::shared_ptr<const core::Event>> &events);
  // Queues event as publish() does and waits until every subscription that
  // took it has handled it. Returns the failures, "name: what" each; a drop
  // subscription whose queue is full counts as failed. Needs start().
  std::vector<std::string> publish_sync(const core::Event &event);

  // Refuses new events, lets every worker drain its queue, flush and stop its
  // subscriber, and joins the workers. Idempotent.
  void stop();

private:
  class Subscription;
  struct Waiter;
  using List = std::vector<std::shared_ptr<Subscription>>;

  // Returns the subscriptions now; publishers read it without a lock.
  std::shared_ptr<const List> subscriptions() const;
  std::size_t offer(const std::shared_ptr<const core::Event> &event,
                    const std::shared_ptr<Waiter> &waiter);

  metrics::Metrics &m_metrics;
  std::mutex m_change; // serializes subscribe, unsubscribe, start and stop
  std::shared_ptr<const List> m_subscriptions;
  SubscriptionId m_next_id = 1;
  bool m_started = false;
  bool m_stopped = false;
};

} // namespace dovewarden::bus
