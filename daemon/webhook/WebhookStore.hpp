#pragma once

#include "db/StoreFailure.hpp"
#include "webhook/Endpoint.hpp"

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace dovewarden::webhook {

enum class DeliveryState { pending, succeeded, failed };

// One message for one endpoint: an event (or a batch of events) rendered
// into the exact body that is signed and sent. Its id is the webhook-id
// header and stays the same over every attempt.
struct Delivery {
  std::string id; // "msg_" + 22 base62 characters
  std::string endpoint_id;
  std::string event_type; // of the first event of a batch
  std::uint32_t events = 1;
  std::string body;
  TimePoint created;
  DeliveryState state = DeliveryState::pending;
  std::uint32_t attempts = 0; // made so far
  TimePoint next_attempt;     // a pending delivery is not claimed before this
};

// What one HTTP attempt gave.
struct Attempt {
  std::string delivery_id;
  TimePoint at;
  int status = 0; // HTTP status, 0: no response (see error)
  std::chrono::milliseconds latency{0};
  std::string error;    // transport error or refusal, "" if a response came
  std::string response; // the first bytes of the response body
};

// What to do with a delivery after an attempt.
struct Outcome {
  DeliveryState state = DeliveryState::pending; // pending: retry at retry_at
  TimePoint retry_at;
};

// One attempt's end, for WebhookStore::finish_all().
struct Finish {
  Delivery delivery;
  std::string owner;
  Attempt attempt;
  Outcome outcome;
};

struct DeliveryRecord {
  Delivery delivery;
  std::vector<Attempt> attempts; // oldest first
};

// Endpoints, the outbox and the delivery log: one interface, two backends
// (SqliteWebhookStore, RedisWebhookStore), one contract test suite
// (tests/unit/test_webhook_store.cpp). Every method is thread-safe and
// returns a failure (db::StoreFailure) if the store cannot be reached or
// answers wrongly; a failed call changes nothing.
class WebhookStore {
public:
  template <typename T> using Result = db::Result<T>;

  virtual ~WebhookStore() = default;

  // Returns a failure if the store does not answer.
  virtual Result<void> ping() = 0;

  // Stores a new endpoint, or replaces the one with the same id. Returns
  // false if replace is false and the id exists.
  virtual Result<bool> put_endpoint(const Endpoint &endpoint,
                                    bool replace) = 0;
  // Returns the endpoint, or nothing if the id is unknown.
  virtual Result<std::optional<Endpoint>> endpoint(const std::string &id) = 0;
  // Returns every endpoint, sorted by creation time.
  virtual Result<std::vector<Endpoint>> endpoints() = 0;
  // Removes the endpoint, its pending deliveries and its log. Returns false
  // if the id is unknown.
  virtual Result<bool> remove_endpoint(const std::string &id) = 0;
  // Returns a number that changes whenever any endpoint changes, so that
  // the daemons sharing the store notice a change and reload.
  virtual Result<std::uint64_t> endpoints_version() = 0;

  // Adds deliveries to the outbox, pending and due at their next_attempt.
  // All or nothing. Returns conflict if an id exists.
  virtual Result<void> enqueue(const std::vector<Delivery> &deliveries) = 0;
  // Leases up to max pending deliveries that are due (next_attempt <= now)
  // and not leased (or whose lease expired), oldest due first, at most
  // per_endpoint of them for one endpoint (0: no such bound).
  virtual Result<std::vector<Delivery>>
  claim(const std::string &owner, TimePoint now,
        std::chrono::milliseconds lease, std::size_t max,
        std::size_t per_endpoint) = 0;
  // Logs attempt, applies outcome to the delivery and releases its lease.
  // Also keeps the endpoint's failing_since: cleared by a success, set by the
  // first failure after one (a turn changes endpoints_version()). Returns
  // false if owner no longer held the lease (the attempt is still logged and
  // still counts for failing_since), or if the delivery is gone (nothing is
  // logged).
  virtual Result<bool> finish(const Delivery &delivery,
                              const std::string &owner,
                              const Attempt &attempt,
                              const Outcome &outcome) = 0;
  // Does what finish() does for each, in order; the backends do it in one
  // transaction or round trip, all or nothing. Returns what finish() would
  // have returned for each.
  virtual Result<std::vector<bool>>
  finish_all(const std::vector<Finish> &finishes) {
    std::vector<bool> held;
    held.reserve(finishes.size());
    for (const auto &one : finishes) {
      auto finished = finish(one.delivery, one.owner, one.attempt, one.outcome);
      if (!finished)
        return tl::unexpected(finished.error());
      held.push_back(*finished);
    }
    return held;
  }
  // Gives back every lease owner holds. Returns how many.
  virtual Result<std::size_t> release_owner(const std::string &owner) = 0;

  // Returns the endpoint's deliveries, newest first, at most limit.
  virtual Result<std::vector<DeliveryRecord>>
  deliveries(const std::string &endpoint_id, std::size_t limit) = 0;
  // Returns one delivery with its attempts, or nothing if unknown.
  virtual Result<std::optional<DeliveryRecord>>
  delivery(const std::string &id) = 0;
  // Makes a delivery pending again, due at now, keeping its id, with its
  // attempts count back at 0 so that the retry schedule starts over (its
  // logged attempts stay). Returns false if the id is unknown.
  virtual Result<bool> redeliver(const std::string &id, TimePoint now) = 0;
  // Makes the endpoint's failed deliveries created in [since, until) pending
  // again, due at now, attempts count back at 0 as redeliver() does. Returns
  // how many.
  virtual Result<std::size_t> recover(const std::string &endpoint_id,
                                      TimePoint since, TimePoint until,
                                      TimePoint now) = 0;
  // Returns how many deliveries are pending.
  virtual Result<std::uint64_t> pending() = 0;
  // Deletes finished deliveries (and their attempts) created before. Returns
  // how many.
  virtual Result<std::size_t> prune(TimePoint before) = 0;
};

} // namespace dovewarden::webhook
