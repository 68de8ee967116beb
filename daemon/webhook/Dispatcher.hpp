#pragma once

#include "bus/Subscriber.hpp"
#include "filter/EventFilter.hpp"
#include "filter/FilterExpression.hpp"
#include "filter/TypeFilter.hpp"
#include "util/Throttle.hpp"
#include "webhook/WebhookStore.hpp"

#include <prometheus/counter.h>

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace dovewarden::webhook {

// The bus subscriber that turns events into deliveries: each event is
// matched against every enabled endpoint's type globs and filter, rendered
// once (payload()), batched per endpoint if the endpoint asks for it, and
// written to the outbox in one store call per flush. From then on a
// delivery survives restarts; until then it is in memory, like every event
// on the bus. A store that fails keeps the deliveries for the next flush;
// past a bound, handle() waits for the store, which pushes back on the bus.
//
// Events of origin "dsync" are not delivered: they are a replica catching
// up on a change that was delivered where it happened.
class Dispatcher : public bus::Subscriber {
public:
  struct Options {
    std::size_t max_payload = std::size_t{256} * 1024; // bytes of a payload
    std::size_t max_pending = 100000; // deliveries kept while the store fails
    std::chrono::milliseconds reload_interval{1000};
    // the retry schedule's first wait: before a delivery's first attempt
    std::chrono::milliseconds first_attempt{0};
  };
  struct Counters {
    prometheus::Counter &enqueued;  // deliveries written to the outbox
    prometheus::Counter &too_large; // payloads refused for their size
  };

  // stored is called after deliveries were written (to wake the deliverer).
  Dispatcher(WebhookStore &store, Options options, Counters counters,
             std::function<void()> stored);

  std::string name() const override { return "webhooks"; }
  void handle(const core::Event &event) override;
  std::chrono::milliseconds flush_interval() const override;
  bool flush_when_idle() const override { return true; }
  // Closes batches that are full or waited long enough and writes what is
  // pending. Throws std::runtime_error if the store failed; nothing is lost.
  void flush() override;
  // Writes every open batch and what is pending, retrying a failing store
  // for a bounded time.
  void stop() override;

  // Makes the next flush reload the endpoints (the admin API changed one).
  void endpoints_changed();

  // Returns the filter to subscribe with: it passes every event while an
  // endpoint is enabled or the endpoints are still to be read, and none
  // while none is enabled (the default), so that the bus does not queue
  // every event only for handle() to ignore it.
  std::unique_ptr<filter::EventFilter> filter() const;

private:
  struct Route {
    Endpoint endpoint;
    filter::TypeFilter types;
    std::unique_ptr<filter::FilterExpression> filter; // null: none
  };
  struct Batch {
    std::vector<std::string> payloads;
    std::string first_type;
    std::chrono::steady_clock::time_point opened;
  };

  void reload_if_due();
  // Reads the enabled endpoints if their version changed.
  void reload();
  void add(const Endpoint &endpoint, const std::string &type, std::string body,
           std::uint32_t events);
  void close_batches(bool all);
  // Returns an error text if the store failed; pending is kept then.
  tl::expected<void, std::string> write();

  WebhookStore &m_store;
  Options m_options;
  Counters m_counters;
  std::function<void()> m_stored;
  std::atomic<bool> m_reload{true};
  // what filter() passes: shared with it, as the bus owns the filter
  std::shared_ptr<std::atomic<bool>> m_routing =
      std::make_shared<std::atomic<bool>>(true);
  std::chrono::steady_clock::time_point m_next_reload;
  std::optional<std::uint64_t> m_version; // of the endpoints loaded
  std::vector<Route> m_routes;
  std::map<std::string, Batch> m_batches; // by endpoint id
  std::vector<Delivery> m_pending;
  util::Throttle m_refusals;
};

} // namespace dovewarden::webhook
