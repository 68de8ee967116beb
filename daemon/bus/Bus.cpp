#include "bus/Bus.hpp"

#include "filter/TypeFilter.hpp"
#include "metrics/Metrics.hpp"
#include "util/BoundedQueue.hpp"
#include "util/Logger.hpp"
#include "util/Throttle.hpp"

#include <stdexcept>
#include <thread>

namespace dovewarden::bus {

namespace {

using EventPtr = std::shared_ptr<const core::Event>;
using Clock = std::chrono::steady_clock;

// how long an idle worker sleeps when its subscriber has no flush timer
constexpr auto k_idle_wait = std::chrono::seconds(1);
constexpr auto k_error_log_interval = std::chrono::minutes(1);

} // namespace

// One subscriber with its filter, queue and worker thread.
class Bus::Subscription {
public:
  Subscription(std::unique_ptr<filter::EventFilter> filter,
               std::shared_ptr<Subscriber> subscriber, Options options,
               metrics::Metrics &metrics)
      : m_filter(std::move(filter)), m_subscriber(std::move(subscriber)),
        m_name(m_subscriber->name()), m_options(options),
        m_queue(options.queue_capacity), m_metrics(metrics.subscriber(m_name)),
        m_errors(k_error_log_interval) {
    m_metrics.queue_capacity.Set(static_cast<double>(m_queue.capacity()));
  }

  const std::string &name() const { return m_name; }
  bool wants(const core::Event &event) const {
    return m_filter->matches(event);
  }

  void start() {
    m_worker = std::thread([this] { run(); });
  }

  // Returns ok, or full (only under the block policy) to be retried with
  // wait(), or closed.
  util::BoundedQueue<EventPtr>::Push offer(const EventPtr &event) {
    const auto result = m_queue.try_push(event);
    if (result == util::BoundedQueue<EventPtr>::Push::ok) {
      m_metrics.queue_depth.Increment();
    } else if (result == util::BoundedQueue<EventPtr>::Push::closed ||
               m_options.overflow == Overflow::drop) {
      m_metrics.dropped.Increment();
      return util::BoundedQueue<EventPtr>::Push::closed;
    }
    return result;
  }

  // Queues event, waiting for room. Returns false if the queue closed first.
  bool wait(const EventPtr &event) {
    const auto start = Clock::now();
    const bool queued = m_queue.push(event);
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
  void run() {
    const auto interval = m_subscriber->flush_interval();
    const bool when_idle = m_subscriber->flush_when_idle();
    auto next_flush = Clock::now() + interval;
    while (true) {
      const auto deadline =
          interval.count() > 0 ? next_flush : Clock::now() + k_idle_wait;
      bool idle = false;
      if (auto event = m_queue.pop_until(deadline)) {
        m_metrics.queue_depth.Decrement();
        deliver(**event);
        idle = when_idle && m_queue.size() == 0;
      } else if (m_queue.drained()) {
        break;
      }
      if (interval.count() > 0 && (idle || Clock::now() >= next_flush)) {
        guarded("flush", [this] { m_subscriber->flush(); });
        next_flush = Clock::now() + interval;
      }
    }
    guarded("flush", [this] { m_subscriber->flush(); });
    guarded("stop", [this] { m_subscriber->stop(); });
    LOG_DEBUG("bus: ", m_name, ": stopped");
  }

  void deliver(const core::Event &event) {
    if (guarded("handle", [&] { m_subscriber->handle(event); }))
      m_metrics.delivered.Increment();
  }

  // Runs call, counting and logging (at most once a minute) what it throws.
  // Returns true if it did not throw.
  template <typename Call> bool guarded(const char *what, Call &&call) {
    try {
      call();
      return true;
    } catch (const std::exception &e) {
      m_metrics.failed.Increment();
      if (m_errors.allow()) {
        const auto suppressed = m_errors.take_suppressed();
        LOG_ERROR("bus: ", m_name, ": ", what, " failed: ", e.what(),
                  suppressed > 0 ? " (and " + std::to_string(suppressed) +
                                       " more failures since the last report)"
                                 : "");
      }
      return false;
    }
  }

  std::unique_ptr<filter::EventFilter> m_filter;
  std::shared_ptr<Subscriber> m_subscriber;
  std::string m_name;
  Options m_options;
  util::BoundedQueue<EventPtr> m_queue;
  metrics::Metrics::Subscriber m_metrics;
  util::Throttle m_errors; // used by the worker only
  std::thread m_worker;
};

Bus::Bus(metrics::Metrics &metrics) : m_metrics(metrics) {}

Bus::~Bus() { stop(); }

void Bus::subscribe(std::unique_ptr<filter::EventFilter> filter,
                    std::shared_ptr<Subscriber> subscriber, Options options) {
  if (m_started)
    throw std::logic_error("Bus::subscribe after start");
  LOG_DEBUG("bus: ", subscriber->name(), " subscribes to ", filter->describe());
  m_subscriptions.push_back(std::make_unique<Subscription>(
      std::move(filter), std::move(subscriber), options, m_metrics));
}

void Bus::subscribe(std::string_view type_globs,
                    std::shared_ptr<Subscriber> subscriber, Options options) {
  auto filter = filter::TypeFilter::parse(type_globs);
  if (!filter)
    throw std::invalid_argument(filter.error());
  subscribe(std::make_unique<filter::TypeFilter>(std::move(*filter)),
            std::move(subscriber), options);
}

void Bus::start() {
  if (m_started)
    return;
  m_started = true;
  for (auto &subscription : m_subscriptions)
    subscription->start();
}

std::size_t Bus::publish(std::shared_ptr<const core::Event> event) {
  using Push = util::BoundedQueue<EventPtr>::Push;
  std::size_t queued = 0;
  // first everyone with room, then wait for the full ones: a full queue
  // delays only what comes after this event, not this event elsewhere
  std::vector<Subscription *> full;
  for (auto &subscription : m_subscriptions) {
    if (!subscription->wants(*event))
      continue;
    const auto result = subscription->offer(event);
    if (result == Push::ok)
      queued++;
    else if (result == Push::full)
      full.push_back(subscription.get());
  }
  for (auto *subscription : full) {
    if (subscription->wait(event))
      queued++;
  }
  return queued;
}

void Bus::stop() {
  if (m_stopped)
    return;
  m_stopped = true;
  for (auto &subscription : m_subscriptions)
    subscription->close();
  for (auto &subscription : m_subscriptions)
    subscription->join();
}

} // namespace dovewarden::bus
