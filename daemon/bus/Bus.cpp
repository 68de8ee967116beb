#include "bus/Bus.hpp"

#include "filter/TypeFilter.hpp"
#include "metrics/Metrics.hpp"
#include "util/BoundedQueue.hpp"
#include "util/Logger.hpp"
#include "util/Throttle.hpp"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <optional>
#include <stdexcept>
#include <thread>

namespace dovewarden::bus {

namespace {

using EventPtr = std::shared_ptr<const core::Event>;
using Clock = std::chrono::steady_clock;
using Push = util::BoundedQueue<int>::Push;

// how long an idle worker sleeps when its subscriber has no flush timer
constexpr auto k_idle_wait = std::chrono::seconds(1);
constexpr auto k_error_log_interval = std::chrono::minutes(1);

} // namespace

// What publish_sync() waits on: how many subscriptions still have to handle
// the event, and what failed.
struct Bus::Waiter {
  std::mutex mutex;
  std::condition_variable done;
  std::size_t remaining = 0;
  std::vector<std::string> errors;

  void add() {
    std::lock_guard lock(mutex);
    remaining++;
  }
  void finish(std::optional<std::string> error) {
    {
      std::lock_guard lock(mutex);
      if (error)
        errors.push_back(std::move(*error));
      remaining--;
    }
    done.notify_all();
  }
  std::vector<std::string> wait() {
    std::unique_lock lock(mutex);
    done.wait(lock, [this] { return remaining == 0; });
    return std::move(errors);
  }
};

// One subscriber with its filter, queue and worker thread.
class Bus::Subscription {
public:
  struct Item {
    EventPtr event;
    std::shared_ptr<Waiter> waiter; // null unless publish_sync() waits
  };
  using Queue = util::BoundedQueue<Item>;

  Subscription(SubscriptionId id, std::unique_ptr<filter::EventFilter> filter,
               std::shared_ptr<Subscriber> subscriber, Options options,
               metrics::Metrics &metrics)
      : m_id(id), m_filter(std::move(filter)),
        m_subscriber(std::move(subscriber)), m_name(m_subscriber->name()),
        m_options(options), m_queue(options.queue_capacity),
        m_metrics(metrics.subscriber(m_name)), m_errors(k_error_log_interval),
        m_overflow_log(k_error_log_interval) {
    m_metrics.queue_capacity.Set(static_cast<double>(m_queue.capacity()));
  }

  SubscriptionId id() const { return m_id; }
  const std::string &name() const { return m_name; }
  bool wants(const core::Event &event) const {
    return m_filter->matches(event);
  }

  void start() {
    m_worker = std::thread([this] { run(); });
  }

  // Returns ok, or full (only under the block policy) to be retried with
  // wait(), or closed.
  Push offer(const Item &item) {
    const auto result = m_queue.try_push(item);
    if (result == Queue::Push::ok) {
      m_metrics.queue_depth.Increment();
      return Push::ok;
    }
    if (result == Queue::Push::closed || m_options.overflow == Overflow::drop) {
      m_metrics.dropped.Increment();
      if (result == Queue::Push::full)
        report_overflow(1);
      return Push::closed;
    }
    return Push::full;
  }

  // Queues items[0..count) in order while there is room. Returns how many
  // were queued; under the drop policy, or if the queue is closed, the rest
  // is dropped (and counted) and dropped is set.
  std::size_t offer_some(const Item *items, std::size_t count, bool &dropped) {
    bool closed = false;
    const auto queued = m_queue.try_push_some(items, count, closed);
    if (queued > 0)
      m_metrics.queue_depth.Increment(static_cast<double>(queued));
    dropped =
        queued < count && (closed || m_options.overflow == Overflow::drop);
    if (dropped) {
      m_metrics.dropped.Increment(static_cast<double>(count - queued));
      if (!closed)
        report_overflow(count - queued);
    }
    return queued;
  }

  // Queues item, waiting for room. Returns false if the queue closed first.
  bool wait(const Item &item) {
    const auto start = Clock::now();
    const bool queued = m_queue.push(item);
    const std::chrono::duration<double> waited = Clock::now() - start;
    m_metrics.blocked_seconds.Increment(waited.count());
    if (queued)
      m_metrics.queue_depth.Increment();
    else
      m_metrics.dropped.Increment();
    return queued;
  }

  void close() { m_queue.close(); }

  void join() {
    if (m_worker.joinable())
      m_worker.join();
  }

private:
  // Logs drops of a full queue at most once a minute, from any publisher.
  void report_overflow(std::size_t dropped) {
    m_overflowed += dropped;
    std::unique_lock lock(m_overflow_mutex, std::try_to_lock);
    if (!lock || !m_overflow_log.allow())
      return;
    LOG_WARN("bus: ", m_name, ": queue full (", m_queue.capacity(),
             " events); dropped ", m_overflowed.exchange(0),
             " event(s) since the last report, counted in "
             "dovewarden_bus_dropped_total");
  }

  void run() {
    const auto interval = m_subscriber->flush_interval();
    const bool when_idle = m_subscriber->flush_when_idle();
    auto next_flush = Clock::now() + interval;
    auto flush_if = [&](bool idle) {
      if (interval.count() > 0 && (idle || Clock::now() >= next_flush)) {
        guarded("flush", [this] { m_subscriber->flush(); });
        next_flush = Clock::now() + interval;
      }
    };
    // what the queue held at once: one lock and wake-up for all of it
    std::deque<Item> items;
    while (true) {
      const auto deadline =
          interval.count() > 0 ? next_flush : Clock::now() + k_idle_wait;
      if (m_queue.take_until(deadline, items) == 0) {
        if (m_queue.drained())
          break;
        flush_if(false);
        continue;
      }
      while (!items.empty()) {
        // out of the queue now, as if taken alone
        m_queue.release();
        m_metrics.queue_depth.Decrement();
        deliver(items.front());
        items.pop_front();
        flush_if(when_idle && items.empty() && m_queue.size() == 0);
      }
    }
    guarded("flush", [this] { m_subscriber->flush(); });
    guarded("stop", [this] { m_subscriber->stop(); });
    LOG_DEBUG("bus: ", m_name, ": stopped");
  }

  void deliver(const Item &item) {
    auto error = guarded("handle", [&] { m_subscriber->handle(*item.event); });
    if (!error)
      m_metrics.delivered.Increment();
    if (item.waiter)
      item.waiter->finish(
          error ? std::optional<std::string>(m_name + ": " + *error)
                : std::nullopt);
  }

  // Runs call, counting and logging (at most once a minute) what it throws.
  // Returns what it threw, or nothing.
  template <typename Call>
  std::optional<std::string> guarded(const char *what, Call &&call) {
    try {
      call();
      return std::nullopt;
    } catch (const std::exception &e) {
      m_metrics.failed.Increment();
      if (m_errors.allow()) {
        const auto suppressed = m_errors.take_suppressed();
        LOG_ERROR("bus: ", m_name, ": ", what, " failed: ", e.what(),
                  suppressed > 0 ? " (and " + std::to_string(suppressed) +
                                       " more failures since the last report)"
                                 : "");
      }
      return e.what();
    }
  }

  SubscriptionId m_id;
  std::unique_ptr<filter::EventFilter> m_filter;
  std::shared_ptr<Subscriber> m_subscriber;
  std::string m_name;
  Options m_options;
  Queue m_queue;
  metrics::Metrics::Subscriber m_metrics;
  util::Throttle m_errors;                    // used by the worker only
  std::atomic<std::uint64_t> m_overflowed{0}; // not yet reported
  std::mutex m_overflow_mutex;                // guards m_overflow_log
  util::Throttle m_overflow_log;
  std::thread m_worker;
};

Bus::Bus(metrics::Metrics &metrics)
    : m_metrics(metrics), m_subscriptions(std::make_shared<const List>()) {}

Bus::~Bus() { stop(); }

std::shared_ptr<const Bus::List> Bus::subscriptions() const {
  return std::atomic_load(&m_subscriptions);
}

Bus::SubscriptionId Bus::subscribe(std::unique_ptr<filter::EventFilter> filter,
                                   std::shared_ptr<Subscriber> subscriber,
                                   Options options) {
  std::lock_guard lock(m_change);
  if (m_stopped)
    throw std::logic_error("Bus::subscribe after stop");
  LOG_DEBUG("bus: ", subscriber->name(), " subscribes to ", filter->describe());
  auto subscription =
      std::make_shared<Subscription>(m_next_id++, std::move(filter),
                                     std::move(subscriber), options, m_metrics);
  if (m_started)
    subscription->start();
  auto list = std::make_shared<List>(*subscriptions());
  list->push_back(subscription);
  std::atomic_store(&m_subscriptions, std::shared_ptr<const List>(list));
  return subscription->id();
}

Bus::SubscriptionId Bus::subscribe(std::string_view type_globs,
                                   std::shared_ptr<Subscriber> subscriber,
                                   Options options) {
  auto filter = filter::TypeFilter::parse(type_globs);
  if (!filter)
    throw std::invalid_argument(filter.error());
  return subscribe(std::make_unique<filter::TypeFilter>(std::move(*filter)),
                   std::move(subscriber), options);
}

bool Bus::unsubscribe(SubscriptionId id) {
  std::shared_ptr<Subscription> gone;
  {
    std::lock_guard lock(m_change);
    auto list = std::make_shared<List>(*subscriptions());
    const auto it =
        std::find_if(list->begin(), list->end(),
                     [id](const auto &entry) { return entry->id() == id; });
    if (it == list->end())
      return false;
    gone = *it;
    list->erase(it);
    std::atomic_store(&m_subscriptions, std::shared_ptr<const List>(list));
  }
  // a publisher that read the list before may still offer to it: closed
  // now, that counts as a drop, which is what it is
  gone->close();
  gone->join();
  return true;
}

void Bus::start() {
  std::lock_guard lock(m_change);
  if (m_started)
    return;
  m_started = true;
  for (auto &subscription : *subscriptions())
    subscription->start();
}

std::size_t Bus::offer(const EventPtr &event,
                       const std::shared_ptr<Waiter> &waiter) {
  const auto list = subscriptions();
  std::size_t queued = 0;
  // first everyone with room, then wait for the full ones: a full queue
  // delays only what comes after this event, not this event elsewhere
  std::vector<Subscription *> full;
  const Subscription::Item item{event, waiter};
  for (auto &subscription : *list) {
    if (!subscription->wants(*event))
      continue;
    if (waiter)
      waiter->add();
    const auto result = subscription->offer(item);
    if (result == Push::ok) {
      queued++;
    } else if (result == Push::full) {
      full.push_back(subscription.get());
    } else if (waiter) {
      waiter->finish(subscription->name() + ": dropped, its queue is full");
    }
  }
  for (auto *subscription : full) {
    if (subscription->wait(item))
      queued++;
    else if (waiter)
      waiter->finish(subscription->name() + ": dropped, the bus stopped");
  }
  return queued;
}

std::size_t Bus::publish(const std::shared_ptr<const core::Event> &event) {
  return offer(event, nullptr);
}

std::vector<std::size_t> Bus::publish(const std::vector<EventPtr> &events) {
  std::vector<std::size_t> taken(events.size(), 0);
  const auto list = subscriptions();
  // as offer(): everyone with room first, then wait for the full ones
  struct Rest {
    Subscription *subscription;
    std::vector<Subscription::Item> items;
    std::vector<std::size_t> indexes; // into events
  };
  std::vector<Rest> full;
  std::vector<Subscription::Item> items;
  std::vector<std::size_t> indexes;
  for (auto &subscription : *list) {
    items.clear();
    indexes.clear();
    for (std::size_t i = 0; i < events.size(); i++) {
      if (subscription->wants(*events[i])) {
        items.push_back(Subscription::Item{events[i], nullptr});
        indexes.push_back(i);
      }
    }
    if (items.empty())
      continue;
    bool dropped = false;
    const auto queued =
        subscription->offer_some(items.data(), items.size(), dropped);
    for (std::size_t k = 0; k < queued; k++)
      taken[indexes[k]]++;
    if (queued < items.size() && !dropped) {
      const auto first_left = static_cast<std::ptrdiff_t>(queued);
      full.push_back(Rest{subscription.get(),
                          std::vector<Subscription::Item>(
                              items.begin() + first_left, items.end()),
                          std::vector<std::size_t>(indexes.begin() + first_left,
                                                   indexes.end())});
    }
  }
  for (auto &rest : full) {
    for (std::size_t k = 0; k < rest.items.size(); k++)
      if (rest.subscription->wait(rest.items[k]))
        taken[rest.indexes[k]]++;
  }
  return taken;
}

std::vector<std::string> Bus::publish_sync(const core::Event &event) {
  auto waiter = std::make_shared<Waiter>();
  offer(std::make_shared<const core::Event>(event), waiter);
  return waiter->wait();
}

void Bus::stop() {
  std::lock_guard lock(m_change);
  if (m_stopped)
    return;
  m_stopped = true;
  const auto list = subscriptions();
  for (auto &subscription : *list)
    subscription->close();
  for (auto &subscription : *list)
    subscription->join();
}

} // namespace dovewarden::bus
