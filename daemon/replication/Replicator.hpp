#pragma once

#include "core/Event.hpp"
#include "replication/DoveadmFailure.hpp"
#include "replication/SkippedUsers.hpp"
#include "replication/SyncTarget.hpp"
#include "replication/UserdbCache.hpp"
#include "store/ReplicationStore.hpp"
#include "util/DependencyBackoff.hpp"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace dovewarden::replication {

class ReplicationMetrics;

// Works the replication queue: workers claim due users from the store (a
// lease keeps every other worker and daemon off that user), read the user's
// userdb fields (cached), run doveadm sync to the destination they give, and
// record the outcome; failures back off, users doveadm does not know or that
// have noreplicate leave the queue. A keeper renews the leases of running
// syncs and watches the store; a sweeper queues every user not synced within
// the threshold.
class Replicator {
public:
  using Publish = std::function<void(core::Event)>;

  // What the replicator asks of doveadm: DoveadmClient, or a stand-in.
  struct Doveadm {
    std::function<tl::expected<std::string, DoveadmFailure>(
        const std::string &user, const std::string &destination,
        const std::string &state, bool full)>
        sync;
    std::function<tl::expected<UserdbFields, DoveadmFailure>(
        const std::string &user)>
        user_fields;
    std::function<tl::expected<std::vector<std::string>, DoveadmFailure>(
        const std::string &mask)>
        list_users;
    std::function<void()> cancel;
  };

  struct Options {
    unsigned workers = 4;
    std::string owner; // "host:pid", names this daemon's leases
    std::chrono::milliseconds lease{60000};
    std::chrono::milliseconds full_sync_interval{24 * 3600 * 1000};
    std::chrono::milliseconds retry_min{10000};
    std::chrono::milliseconds retry_max{600000};
    bool sweep_enabled = true;
    std::chrono::milliseconds sweep_interval{3600 * 1000};
    std::chrono::milliseconds sweep_threshold{24 * 3600 * 1000};
    // a worker with nothing due looks again this often (backoffs end,
    // other daemons queue users)
    std::chrono::milliseconds idle_poll{1000};
    std::chrono::milliseconds keeper_interval{1000};
    SyncTarget::Rules target; // where syncs go
    UserdbCache::Options userdb;
    // while doveadm cannot be reached, one worker tries again after this
    util::DependencyBackoff::Options doveadm_backoff;
  };

  Replicator(Options options, store::ReplicationStore &store, Doveadm doveadm,
             replication::ReplicationMetrics &metrics, Publish publish);
  Replicator(const Replicator &) = delete;
  Replicator &operator=(const Replicator &) = delete;
  ~Replicator();

  // Hands back the leases of dead daemons of this host, then starts the
  // workers, the keeper and the sweeper.
  void start();
  // Cancels running syncs, gives their users back to the queue and joins
  // every thread. Idempotent.
  void stop();
  // Tells idle workers that users were queued.
  void wake();
  // Returns false while the store cannot write (ReplicationStore::writable).
  bool store_ok() const { return m_store.writable(); }
  // Returns false while doveadm cannot be reached: the workers wait, and
  // one tries again when the backoff allows.
  bool doveadm_up() const { return m_doveadm_state.up(); }
  // Returns the syncs skipped for noreplicate since start, and the last
  // users skipped.
  SkippedUsers::Summary noreplicate() const { return m_skipped.summary(); }

  // Returns the wait before retry number failures (1: the first), doubling
  // from retry_min up to retry_max, with +-20% jitter.
  static std::chrono::milliseconds backoff(const Options &options,
                                           int failures);

private:
  using Outcome = tl::expected<std::string, DoveadmFailure>;

  void work();
  void run(const store::Claim &claim);
  // Syncs the user to the destination its userdb fields give. Returns the
  // sync's outcome, or nothing if the userdb says noreplicate.
  std::optional<Outcome> attempt(const store::Claim &claim, bool full);
  tl::expected<UserdbFields, DoveadmFailure> look_up(const std::string &user);
  // Counts a doveadm request (failure: nullptr if it succeeded) and keeps
  // track of whether doveadm can be reached.
  void doveadm_answered(const char *command, const DoveadmFailure *failure);
  // Waits, while doveadm cannot be reached, until a worker may try it
  // again. Returns false once stopping.
  bool wait_for_doveadm(std::uint64_t seen);
  // Gives the user back to the queue, due, without an outcome: a sync that
  // was cancelled by stop(), or that found doveadm unreachable.
  void give_back(const store::Claim &claim, bool stopping);
  void skipped(const store::Claim &claim);
  // Takes the user out of the store: the queue entry and its record.
  void forget(const store::Claim &claim, const std::string &why);
  void succeeded(const store::Claim &claim, const std::string &state, bool full,
                 store::TimePoint started);
  void failed(const store::Claim &claim, const DoveadmFailure &failure,
              bool full, store::TimePoint started);
  // Keeps an outcome the store did not take, for the keeper to write when
  // the store answers again (operation names it in logs and metrics).
  void unsettled(const store::Claim &claim, const char *operation,
                 std::function<store::ReplicationStore::Result<void>()> write);
  // Writes the outcomes kept by unsettled(), oldest first.
  void settle();
  void keep();
  void sweep_loop();
  tl::expected<std::size_t, std::string> sweep();
  void release_dead_leases();
  void store_failed(const char *operation, const db::StoreFailure &failure);
  void publish(const char *type, const store::Claim &claim, bool full,
               store::TimePoint started, store::TimePoint finished,
               const std::string &error);
  // Waits until wake(), stop() or timeout. Returns false once stopping.
  bool wait(std::uint64_t seen, std::chrono::milliseconds timeout);
  // Waits until stop() or timeout. Returns false once stopping.
  bool pause(std::chrono::milliseconds timeout);

  Options m_options;
  store::ReplicationStore &m_store;
  Doveadm m_doveadm;
  replication::ReplicationMetrics &m_metrics;
  Publish m_publish;
  UserdbCache m_userdb;
  SkippedUsers m_skipped;

  util::DependencyBackoff m_doveadm_state;
  std::atomic<bool> m_store_ok{true}; // no store failure logged since
  std::mutex m_mutex;
  std::condition_variable m_cv;
  std::uint64_t m_wakeups = 0;
  bool m_stopping = false;
  std::map<std::string, store::Claim> m_running;
  // An outcome (succeed, fail, release, remove) whose store write failed:
  // until it is written the store still holds the user's lease for this
  // daemon, and every change queued meanwhile waits for that lease.
  struct Unsettled {
    std::uint64_t id;
    const char *operation;
    std::function<store::ReplicationStore::Result<void>()> write;
  };
  std::map<std::string, Unsettled> m_unsettled; // by user
  std::uint64_t m_next_unsettled = 0;
  // held by a worker from its claim until the user is in m_running, and by
  // the keeper while it writes unsettled outcomes: an old outcome is never
  // written over a new claim of the same user (both carry this daemon's
  // owner)
  std::mutex m_settle_mutex;
  std::vector<std::thread> m_threads;
};

} // namespace dovewarden::replication
