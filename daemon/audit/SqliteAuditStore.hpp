#pragma once

#include "audit/AuditStore.hpp"
#include "db/SqliteDatabase.hpp"

#include <memory>
#include <string>

namespace dovewarden::audit {

// The embedded audit store: audit.sqlite (SQLite, WAL) in a directory (the
// replication store's), one chain, one connection. Its schema is the
// migrations of daemon/audit/migrations/sqlite/, applied when it opens.
class SqliteAuditStore final : public AuditStore {
public:
  static constexpr const char *k_file = "audit.sqlite";

  // Opens directory/audit.sqlite for chain, creating both if missing (mode
  // 0700 and 0600), and migrates its schema. Returns a failure if they
  // cannot be created or opened (unavailable), or if the file is not a
  // database or its schema is newer than this program knows (corrupt).
  static Result<std::unique_ptr<SqliteAuditStore>>
  open(const std::string &directory, std::string chain);

  SqliteAuditStore(const SqliteAuditStore &) = delete;
  SqliteAuditStore &operator=(const SqliteAuditStore &) = delete;
  ~SqliteAuditStore() override;

private:
  struct Statements;

  SqliteAuditStore(std::string chain, std::int64_t chain_id,
                   std::unique_ptr<db::SqliteDatabase> database);

  Result<Head> do_head() override;
  Result<std::vector<bool>>
  do_recorded(const std::vector<EventKey> &keys) override;
  Result<void> do_append(const std::vector<Record> &records,
                         const std::vector<InstanceMark> &marks) override;
  Result<std::vector<InstanceMark>>
  do_instances(std::int64_t seen_since) override;
  Result<void> do_add_checkpoint(const Checkpoint &checkpoint) override;
  Result<std::vector<Checkpoint>> do_checkpoints(std::uint64_t after_size,
                                                 std::size_t limit) override;
  Result<std::optional<Checkpoint>> do_latest_checkpoint() override;
  Result<std::optional<Record>> do_record(std::uint64_t seq) override;
  Result<std::vector<Record>> do_query(const Query &query) override;
  Result<std::uint64_t> do_end_of_prefix_before(std::int64_t time) override;
  Result<std::optional<Checkpoint>> do_base() override;
  Result<std::uint64_t> do_remove_through(const Checkpoint &base,
                                          std::size_t step) override;
  Result<void> do_write_probe() override;

  // Returns the records a statement selects (k_record_columns).
  Result<std::vector<Record>> read_records(sqlite3_stmt *statement);
  // Returns the checkpoints a statement selects (size, hash, time, note).
  Result<std::vector<Checkpoint>> read_checkpoints(sqlite3_stmt *statement);

  std::int64_t m_chain_id; // in audit_chains
  std::unique_ptr<db::SqliteDatabase> m_database;
  std::unique_ptr<Statements> m_statements;
};

} // namespace dovewarden::audit
