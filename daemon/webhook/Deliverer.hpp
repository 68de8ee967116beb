#pragma once

#include "core/Event.hpp"
#include "webhook/AddressPolicy.hpp"
#include "webhook/RetrySchedule.hpp"
#include "webhook/WebhookStore.hpp"

#include <atomic>
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <thread>

namespace dovewarden::webhook {

class WebhookMetrics;

// Sends the outbox's due deliveries over HTTP as Standard Webhooks has it,
// from a thread of its own: claims them from the store under a lease, holds
// them in per-endpoint queues that keep each endpoint's concurrency and rate
// limit (EndpointQueues), signs and POSTs each over libcurl multi
// (CurlTransport), judges how it ended (judge_transfer()) and records the
// attempt and what follows. The store calls (Outbox) run on a second thread,
// in order, while requests are out. Disables an endpoint that answers 410 or
// has been failing too long, and publishes webhook.endpoint_disabled then.
class Deliverer {
public:
  using Publish = std::function<void(core::Event)>;

  struct Options {
    std::string owner; // of the leases, unique per daemon: host:pid:webhook
    RetrySchedule schedule;
    AddressPolicy address_policy; // the SSRF guard, on every request
    std::size_t max_in_flight = 64;
    std::size_t claim_batch = 64;
    // how often the outbox is looked at when idle; wake() cuts it short
    std::chrono::milliseconds poll_interval{500};
    // an endpoint failing for this long is disabled; 0: never
    std::chrono::milliseconds disable_after{std::chrono::hours(24 * 5)};
    std::size_t response_cap = 1024;           // response bytes kept in the log
    std::size_t response_limit = 1 << 20;      // a longer response is cut off
    std::chrono::milliseconds stop_wait{5000}; // for transfers, at stop()
    // finished deliveries stay in the log this long; 0: for ever
    std::chrono::milliseconds retention{std::chrono::hours(24 * 7)};
    // added to the longest endpoint timeout to make the lease
    std::chrono::milliseconds lease_margin{std::chrono::seconds(60)};
  };

  // Throws util::Fatal if libcurl cannot be set up. publish and metrics
  // may be empty.
  Deliverer(WebhookStore &store, Options options, Publish publish = {},
            webhook::WebhookMetrics *metrics = nullptr);
  ~Deliverer();
  Deliverer(const Deliverer &) = delete;
  Deliverer &operator=(const Deliverer &) = delete;

  // Starts the delivery thread (once).
  void start();
  // Stops claiming, lets the transfers in flight finish (up to stop_wait)
  // and records them, gives back the leases of the rest and joins the
  // thread. Returns at once if not running.
  void stop();
  // Makes the thread look at the outbox now, e.g. after an enqueue.
  void wake();
  // Makes the thread re-read the endpoints now (the admin API changed one);
  // otherwise it looks whether they changed once per poll_interval.
  void endpoints_changed();

private:
  class Loop;

  WebhookStore &m_store;
  Options m_options;
  Publish m_publish;
  webhook::WebhookMetrics *m_metrics;
  std::unique_ptr<Loop> m_loop;
  std::atomic<bool> m_stopping{false};
  std::thread m_thread;
};

} // namespace dovewarden::webhook
