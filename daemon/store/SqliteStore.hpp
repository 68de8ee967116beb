#pragma once

#include "db/SqliteDatabase.hpp"
#include "store/ReplicationStore.hpp"

#include <sqlite3.h>

#include <memory>
#include <string>

namespace dovewarden::store {

// The embedded store: one SQLite database (WAL) in a directory of its own,
// for one daemon. One connection, one call at a time.
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

private:
  using Statement = db::SqliteDatabase::Statement;
  struct Statements;

  explicit SqliteStore(std::unique_ptr<db::SqliteDatabase> database);

  Result<void> do_ping() override;
  Result<void> do_probe() override;
  Result<void> do_enqueue(const std::vector<SyncRequest> &requests) override;
  Result<std::optional<Claim>>
  do_claim(const std::string &owner, TimePoint now,
           std::chrono::milliseconds lease) override;
  Result<bool> do_renew(const Claim &claim, const std::string &owner,
                        TimePoint now,
                        std::chrono::milliseconds lease) override;
  Result<void> do_succeed(const Claim &claim, const std::string &owner,
                          const std::string &new_state, bool was_full,
                          TimePoint now) override;
  Result<void> do_fail(const Claim &claim, const std::string &owner,
                       const std::string &error, TimePoint now,
                       TimePoint retry_at) override;
  Result<void> do_release(const Claim &claim,
                          const std::string &owner) override;
  Result<bool> do_remove(const std::string &user) override;
  Result<std::vector<std::string>> do_lease_owners() override;
  Result<std::size_t> do_release_owner(const std::string &owner) override;
  Result<std::vector<UserRecord>> do_users(std::string_view mask) override;
  Result<QueueStatus> do_status(TimePoint now) override;

  // Runs a statement that returns no rows; returns the rows it changed.
  Result<int> run(sqlite3_stmt *statement);
  db::StoreFailure error(const char *what) const;

  std::unique_ptr<db::SqliteDatabase> m_database;
  std::unique_ptr<Statements> m_statements;
};

} // namespace dovewarden::store
