#pragma once

#include "db/SqliteDatabase.hpp"
#include "store/ReplicationStore.hpp"

#include <sqlite3.h>

#include <memory>
#include <mutex>
#include <string>

namespace dovewarden::store {

// The embedded store: one SQLite database (WAL) in a directory of its own,
// for one daemon. One connection, guarded by a mutex.
class SqliteStore final : public ReplicationStore {
public:
  // Opens directory/replication.db, creating both if missing. Returns a
  // failure if they cannot be created or opened (unavailable), or if the
  // file is not a database or its schema is newer than this program knows
  // (corrupt).
  static Result<std::unique_ptr<SqliteStore>>
  open(const std::string &directory);

  SqliteStore(const SqliteStore &) = delete;
  SqliteStore &operator=(const SqliteStore &) = delete;
  ~SqliteStore() override;

  std::string describe() const override;
  Result<void> ping() override;
  Result<void> enqueue(const std::vector<SyncRequest> &requests) override;
  Result<std::optional<Claim>> claim(const std::string &owner, TimePoint now,
                                     std::chrono::milliseconds lease) override;
  Result<bool> renew(const Claim &claim, const std::string &owner,
                     TimePoint now, std::chrono::milliseconds lease) override;
  Result<void> succeed(const Claim &claim, const std::string &owner,
                       const std::string &new_state, bool was_full,
                       TimePoint now) override;
  Result<void> fail(const Claim &claim, const std::string &owner,
                    const std::string &error, TimePoint now,
                    TimePoint retry_at) override;
  Result<void> release(const Claim &claim, const std::string &owner) override;
  Result<bool> remove(const std::string &user) override;
  Result<std::vector<std::string>> lease_owners() override;
  Result<std::size_t> release_owner(const std::string &owner) override;
  Result<std::vector<UserRecord>> users(std::string_view mask) override;
  Result<QueueStatus> status(TimePoint now) override;

private:
  using Statement = db::SqliteDatabase::Statement;
  struct Statements;

  explicit SqliteStore(std::unique_ptr<db::SqliteDatabase> database);

  // Runs a statement that returns no rows; returns the rows it changed.
  Result<int> run(sqlite3_stmt *statement);
  db::StoreFailure error(const char *what) const;

  mutable std::mutex m_mutex;
  std::unique_ptr<db::SqliteDatabase> m_database;
  std::unique_ptr<Statements> m_statements;
};

} // namespace dovewarden::store
