#pragma once

#include "audit/Checkpoint.hpp"
#include "audit/Record.hpp"
#include "db/StoreFailure.hpp"
#include "db/StoreHealth.hpp"

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace dovewarden::audit {

// The last record of a chain: where the next one links.
struct Head {
  std::uint64_t seq = 0;
  std::string hash; // k_genesis_hash before the first record
};

// The last message number the audit writer saw from a plugin process
// instance, recorded or not: after a restart, a higher seq than the next
// one reveals events that were accepted but never recorded.
struct InstanceMark {
  std::string inst;
  std::uint64_t last_seq = 0;
  std::int64_t pid = 0;
  std::string service;
  std::string user;      // of the last message
  std::int64_t seen = 0; // µs since the epoch
};

// The plugin's name for one event.
struct EventKey {
  std::string inst;
  std::uint64_t event_seq = 0;
};

// What audit query asks for; every field set narrows it. Results come in
// seq order, after `after`, at most `limit` of them: the next page starts
// after the last seq of this one.
struct Query {
  std::string user;
  std::string operation; // exact, or a prefix ending in '*' ("message.*")
  std::optional<std::int64_t> since; // time >= since (µs)
  std::optional<std::int64_t> until; // time < until (µs)
  std::string mailbox;
  std::string ip;
  std::string msgid;
  std::uint64_t after = 0;
  std::size_t limit = 100;
};

// The audit log of one chain (`chain()`, the daemon's origin): records,
// checkpoints, the retention base and the instance marks. One interface,
// two backends (SqliteAuditStore, PostgresAuditStore), one contract test
// suite (tests/unit/test_audit_store.cpp). Several daemons may share a
// PostgreSQL database, each writing its own chain; one writer per chain.
// Every method is thread-safe (one backend call at a time) and returns a
// failure (db::StoreFailure) if the store cannot be reached or answers wrongly;
// a failed call changes nothing. Each backend applies its schema's versioned
// migrations (daemon/audit/migrations/) when it opens.
class AuditStore {
public:
  template <typename T> using Result = db::Result<T>;

  virtual ~AuditStore() = default;

  const std::string &chain() const { return m_chain; }

  // As db::StoreHealth: false from the first call that found the store
  // unavailable until a write probe succeeds (check()).
  bool writable() const { return m_health.writable(); }
  std::string last_failure() const { return m_health.last_failure(); }
  bool check();

  // Returns the chain's last record, or the base's size and hash if
  // retention removed every record, or seq 0 and k_genesis_hash.
  Result<Head> head();
  // Returns, for each key, whether a record of the chain has it.
  Result<std::vector<bool>> recorded(const std::vector<EventKey> &keys);
  // Stores records (linked after head(), in seq order) and the marks (each
  // replacing the mark of its inst), all or nothing. Returns conflict if a
  // seq or an (inst, event_seq) is taken.
  Result<void> append(const std::vector<Record> &records,
                      const std::vector<InstanceMark> &marks);
  // Returns the marks seen at or after seen_since (µs).
  Result<std::vector<InstanceMark>> instances(std::int64_t seen_since);

  // Stores a checkpoint of this chain.
  Result<void> add_checkpoint(const Checkpoint &checkpoint);
  // Returns the checkpoints of size > after_size, smallest first, at most
  // limit.
  Result<std::vector<Checkpoint>> checkpoints(std::uint64_t after_size,
                                              std::size_t limit);
  // Returns the checkpoint of the largest size, if any.
  Result<std::optional<Checkpoint>> latest_checkpoint();

  // Returns the record, or nothing if there is none with that seq.
  Result<std::optional<Record>> record(std::uint64_t seq);
  // Returns the records query selects (see Query).
  Result<std::vector<Record>> query(const Query &query);
  // Returns the last seq of the longest prefix of records all older than
  // time (µs), or 0. A younger record keeps the older ones behind it.
  Result<std::uint64_t> end_of_prefix_before(std::int64_t time);

  // Returns the retention base: the checkpoint of the records removed, the
  // verification's starting point. Nothing if none was removed.
  Result<std::optional<Checkpoint>> base();
  // Makes base the retention base and removes the records up to its size,
  // at most step of them per transaction. Returns how many it removed.
  Result<std::uint64_t> remove_through(const Checkpoint &base,
                                       std::size_t step);

protected:
  explicit AuditStore(std::string chain);

private:
  // the backend: called one at a time, arguments checked
  virtual Result<Head> do_head() = 0;
  virtual Result<std::vector<bool>>
  do_recorded(const std::vector<EventKey> &keys) = 0;
  virtual Result<void> do_append(const std::vector<Record> &records,
                                 const std::vector<InstanceMark> &marks) = 0;
  virtual Result<std::vector<InstanceMark>>
  do_instances(std::int64_t seen_since) = 0;
  virtual Result<void> do_add_checkpoint(const Checkpoint &checkpoint) = 0;
  virtual Result<std::vector<Checkpoint>>
  do_checkpoints(std::uint64_t after_size, std::size_t limit) = 0;
  virtual Result<std::optional<Checkpoint>> do_latest_checkpoint() = 0;
  virtual Result<std::optional<Record>> do_record(std::uint64_t seq) = 0;
  virtual Result<std::vector<Record>> do_query(const Query &query) = 0;
  virtual Result<std::uint64_t> do_end_of_prefix_before(std::int64_t time) = 0;
  virtual Result<std::optional<Checkpoint>> do_base() = 0;
  virtual Result<std::uint64_t> do_remove_through(const Checkpoint &base,
                                                  std::size_t step) = 0;
  virtual Result<void> do_write_probe() = 0;

  std::string m_chain;
  std::mutex m_mutex; // one backend call at a time
  db::StoreHealth m_health;
};

} // namespace dovewarden::audit
