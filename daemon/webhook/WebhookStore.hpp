#pragma once

#include "db/StoreFailure.hpp"
#include "db/StoreHealth.hpp"
#include "webhook/Endpoint.hpp"

#include <chrono>
#include <cstdint>
#include <mutex>
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
// (tests/unit/test_webhook_store.cpp). Every method is thread-safe: it
// checks its arguments, then runs the backend's do_ method, one call at a
// time. It returns a failure (db::StoreFailure) if the arguments are invalid
// or the store cannot be reached or answers wrongly; a failed call changes
// nothing.
class WebhookStore {
public:
  template <typename T> using Result = db::Result<T>;

  // prune() deletes in steps of this many, so that other calls (and, on a
  // shared server, other daemons) are not held up for long
  static constexpr std::size_t k_prune_step = 1000;

  virtual ~WebhookStore() = default;

  // Returns a failure if the store does not answer.
  Result<void> ping();
  // Returns false from the first call, on any thread, that found the store
  // unavailable until a write probe succeeds (check()): what /readyz says.
  bool writable() const { return m_health.writable(); }
  // Returns why the store went down, or "" while it is writable.
  std::string last_failure() const { return m_health.last_failure(); }
  // While not writable, tries a small write once the backoff allows (1 s,
  // doubling to 10 s). Returns writable().
  bool check();

  // Stores a new endpoint, or replaces the one with the same id. Returns
  // false if replace is false and the id exists, invalid if the id is empty.
  Result<bool> put_endpoint(const Endpoint &endpoint, bool replace);
  // Returns the endpoint, or nothing if the id is unknown.
  Result<std::optional<Endpoint>> endpoint(const std::string &id);
  // Returns every endpoint, sorted by creation time.
  Result<std::vector<Endpoint>> endpoints();
  // Removes the endpoint, its pending deliveries and its log. Returns false
  // if the id is unknown.
  Result<bool> remove_endpoint(const std::string &id);
  // Returns a number that changes whenever any endpoint changes, so that
  // the daemons sharing the store notice a change and reload.
  Result<std::uint64_t> endpoints_version();

  // Adds deliveries to the outbox, pending and due at their next_attempt.
  // All or nothing. Returns conflict if an id exists, invalid if one is
  // empty.
  Result<void> enqueue(const std::vector<Delivery> &deliveries);
  // Leases up to max pending deliveries that are due (next_attempt <= now)
  // and not leased (or whose lease expired), oldest due first, at most
  // per_endpoint of them for one endpoint (0: no such bound). Returns
  // invalid if owner is empty.
  Result<std::vector<Delivery>> claim(const std::string &owner, TimePoint now,
                                      std::chrono::milliseconds lease,
                                      std::size_t max,
                                      std::size_t per_endpoint);
  // Logs attempt, applies outcome to the delivery and releases its lease.
  // Also keeps the endpoint's failing_since: cleared by a success, set by the
  // first failure after one (a turn changes endpoints_version()). Returns
  // false if owner no longer held the lease (the attempt is still logged and
  // still counts for failing_since), or if the delivery is gone (nothing is
  // logged).
  Result<bool> finish(const Delivery &delivery, const std::string &owner,
                      const Attempt &attempt, const Outcome &outcome);
  // Does what finish() does for each, in order, all or nothing. Returns what
  // finish() would have returned for each.
  Result<std::vector<bool>> finish_all(const std::vector<Finish> &finishes);
  // Gives back every lease owner holds. Returns how many.
  Result<std::size_t> release_owner(const std::string &owner);

  // Returns the endpoint's deliveries, newest first, at most limit.
  Result<std::vector<DeliveryRecord>> deliveries(const std::string &endpoint_id,
                                                 std::size_t limit);
  // Returns one delivery with its attempts, or nothing if unknown.
  Result<std::optional<DeliveryRecord>> delivery(const std::string &id);
  // Makes a delivery pending again, due at now, keeping its id, with its
  // attempts count back at 0 so that the retry schedule starts over (its
  // logged attempts stay). Returns false if the id is unknown.
  Result<bool> redeliver(const std::string &id, TimePoint now);
  // Makes the endpoint's failed deliveries created in [since, until) pending
  // again, due at now, attempts count back at 0 as redeliver() does. Returns
  // how many.
  Result<std::size_t> recover(const std::string &endpoint_id, TimePoint since,
                              TimePoint until, TimePoint now);
  // Returns how many deliveries are pending.
  Result<std::uint64_t> pending();
  // Deletes finished deliveries (and their attempts) created before, in
  // steps of k_prune_step. Returns how many.
  Result<std::size_t> prune(TimePoint before);

private:
  // The backend's part of each call above, its arguments checked (batches,
  // ids, owners and limits not empty), called one at a time.
  virtual Result<void> do_ping() = 0;
  // A small write that changes nothing a caller sees; do_ping() unless the
  // backend has one.
  virtual Result<void> do_probe();
  virtual Result<bool> do_put_endpoint(const Endpoint &endpoint,
                                       bool replace) = 0;
  virtual Result<std::optional<Endpoint>>
  do_endpoint(const std::string &id) = 0;
  virtual Result<std::vector<Endpoint>> do_endpoints() = 0;
  virtual Result<bool> do_remove_endpoint(const std::string &id) = 0;
  virtual Result<std::uint64_t> do_endpoints_version() = 0;
  virtual Result<void> do_enqueue(const std::vector<Delivery> &deliveries) = 0;
  virtual Result<std::vector<Delivery>>
  do_claim(const std::string &owner, TimePoint now,
           std::chrono::milliseconds lease, std::size_t max,
           std::size_t per_endpoint) = 0;
  virtual Result<bool> do_finish(const Delivery &delivery,
                                 const std::string &owner,
                                 const Attempt &attempt,
                                 const Outcome &outcome) = 0;
  // do_finish() for each, in order; the backends do it in one transaction or
  // round trip
  virtual Result<std::vector<bool>>
  do_finish_all(const std::vector<Finish> &finishes);
  virtual Result<std::size_t> do_release_owner(const std::string &owner) = 0;
  virtual Result<std::vector<DeliveryRecord>>
  do_deliveries(const std::string &endpoint_id, std::size_t limit) = 0;
  virtual Result<std::optional<DeliveryRecord>>
  do_delivery(const std::string &id) = 0;
  virtual Result<bool> do_redeliver(const std::string &id, TimePoint now) = 0;
  virtual Result<std::size_t> do_recover(const std::string &endpoint_id,
                                         TimePoint since, TimePoint until,
                                         TimePoint now) = 0;
  virtual Result<std::uint64_t> do_pending() = 0;
  // One step of prune(): deletes at least at_most of them if there are as
  // many (all of them at once is fine). Returns how many it deleted.
  virtual Result<std::size_t> do_prune(TimePoint before,
                                       std::size_t at_most) = 0;

  std::mutex m_mutex; // one backend call at a time
  db::StoreHealth m_health{"webhook store"};
};

} // namespace dovewarden::webhook
