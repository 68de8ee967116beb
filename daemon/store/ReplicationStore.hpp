#pragma once

#include "db/StoreFailure.hpp"
#include "db/StoreHealth.hpp"
#include "store/Priority.hpp"

#include <array>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace dovewarden::store {

using Clock = std::chrono::system_clock;
using TimePoint = Clock::time_point; // the epoch (TimePoint{}) means "never"

// One reason to sync a user, as the sources and the sweep produce them.
struct SyncRequest {
  std::string user;
  Priority priority = Priority::none;
  TimePoint requested; // when the change happened
  bool full = false;   // a full sync was asked for
  // the sweep's condition: skip this request if the user's last successful
  // sync is at or after this time
  std::optional<TimePoint> unless_synced_since;
};

// What the store knows of one user.
struct UserRecord {
  std::string user;
  bool queued = false;
  Priority priority = Priority::none; // of the queued entry
  TimePoint requested;                // earliest request of the queued entry
  bool full_requested = false;
  TimePoint last_fast_sync;
  TimePoint last_full_sync;
  TimePoint last_success;
  bool failed = false;    // the last sync failed
  int failures = 0;       // consecutive failed syncs
  TimePoint next_attempt; // a queued user is not claimed before this
  std::string last_error;
  std::string owner; // holder of the lease, "" if none
  TimePoint lease_until;
};

// A user leased by one worker: nobody else syncs it until the lease is given
// back or expires.
struct Claim {
  std::string user;
  Priority priority = Priority::none;
  bool full = false; // a full sync was requested
  std::string dsync_state;
  TimePoint last_full_sync;
  int failures = 0;
  // the entry's version at claim time; a request arriving later advances it,
  // and succeed() then keeps the user queued for another sync
  std::uint64_t generation = 0;
};

struct QueueStatus {
  std::array<std::uint64_t, k_priority_count> queued{};
  std::uint64_t waiting = 0; // queued, but backing off after a failure
  std::uint64_t running = 0; // leased
  std::uint64_t failed = 0;  // users whose last sync failed
  std::uint64_t users = 0;   // users known
};

// The replication queue and what is known of each user's syncs: one
// interface, two backends (SqliteStore, RedisStore), one contract test suite
// (tests/unit/test_store.cpp). Every method is thread-safe: it checks its
// arguments, then runs the backend's do_ method, one call at a time. It
// returns a failure (db::StoreFailure) if the arguments are invalid or the
// store cannot be reached or answers wrongly; a failed call changes nothing.
class ReplicationStore {
public:
  template <typename T> using Result = db::Result<T>;

  virtual ~ReplicationStore() = default;

  // Returns where the store lives, for the start-up log line.
  virtual std::string describe() const = 0;
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

  // Adds requests, each merged with what its user has queued: the highest
  // priority, the earliest time, full if any asked for it. Every merge
  // advances the entry's generation. All or nothing.
  Result<void> enqueue(const std::vector<SyncRequest> &requests);

  // Leases the most urgent queued user that is due (next_attempt <= now) and
  // not leased (or whose lease expired): highest priority first, then the
  // earliest request. Returns nothing if no user is due, invalid if owner is
  // empty.
  Result<std::optional<Claim>> claim(const std::string &owner, TimePoint now,
                                     std::chrono::milliseconds lease);
  // Extends the lease. Returns false if owner no longer holds it.
  Result<bool> renew(const Claim &claim, const std::string &owner,
                     TimePoint now, std::chrono::milliseconds lease);

  // Records a successful sync: keeps new_state, sets the last fast or full
  // sync and the last success to now, clears the failures and the lease. The
  // user leaves the queue unless its generation advanced since the claim.
  // Returns invalid if owner is empty.
  Result<void> succeed(const Claim &claim, const std::string &owner,
                       const std::string &new_state, bool was_full,
                       TimePoint now);
  // Records a failed sync: counts it, keeps error, releases the lease and
  // keeps the user queued, due at retry_at. Returns invalid if owner is
  // empty.
  Result<void> fail(const Claim &claim, const std::string &owner,
                    const std::string &error, TimePoint now,
                    TimePoint retry_at);
  // Gives the lease back without an outcome (shutdown): the user stays
  // queued and due. Returns invalid if owner is empty.
  Result<void> release(const Claim &claim, const std::string &owner);
  // Removes the user's queue entry and its record (a user doveadm does not
  // know, or that has noreplicate). Returns false if it was not known.
  Result<bool> remove(const std::string &user);

  // Returns the owners that hold leases now.
  Result<std::vector<std::string>> lease_owners();
  // Gives back every lease owner holds (a dead daemon's). Returns how many.
  Result<std::size_t> release_owner(const std::string &owner);

  // Returns the records of the users matching the glob mask ("*": all),
  // sorted by user.
  Result<std::vector<UserRecord>> users(std::string_view mask);
  // Returns the queue's counts; waiting is judged against now.
  Result<QueueStatus> status(TimePoint now);

private:
  // The backend's part of each call above, its arguments checked (requests
  // and owners not empty), called one at a time.
  virtual Result<void> do_ping() = 0;
  // A small write that changes nothing a caller sees; do_ping() unless the
  // backend has one.
  virtual Result<void> do_probe();
  virtual Result<void> do_enqueue(const std::vector<SyncRequest> &requests) = 0;
  virtual Result<std::optional<Claim>>
  do_claim(const std::string &owner, TimePoint now,
           std::chrono::milliseconds lease) = 0;
  virtual Result<bool> do_renew(const Claim &claim, const std::string &owner,
                                TimePoint now,
                                std::chrono::milliseconds lease) = 0;
  virtual Result<void> do_succeed(const Claim &claim, const std::string &owner,
                                  const std::string &new_state, bool was_full,
                                  TimePoint now) = 0;
  virtual Result<void> do_fail(const Claim &claim, const std::string &owner,
                               const std::string &error, TimePoint now,
                               TimePoint retry_at) = 0;
  virtual Result<void> do_release(const Claim &claim,
                                  const std::string &owner) = 0;
  virtual Result<bool> do_remove(const std::string &user) = 0;
  virtual Result<std::vector<std::string>> do_lease_owners() = 0;
  virtual Result<std::size_t> do_release_owner(const std::string &owner) = 0;
  virtual Result<std::vector<UserRecord>> do_users(std::string_view mask) = 0;
  virtual Result<QueueStatus> do_status(TimePoint now) = 0;

  std::mutex m_mutex; // one backend call at a time
  db::StoreHealth m_health{"replication store"};
};

} // namespace dovewarden::store
