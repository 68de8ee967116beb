#pragma once

#include "audit/AuditStore.hpp"
#include "db/PostgresConnection.hpp"

#include <memory>
#include <string>

namespace dovewarden::audit {

// The shared audit store: a PostgreSQL database through libpq, which
// several daemons may share, each writing its own chain. Its schema is the
// migrations of daemon/audit/migrations/postgres/, applied when it opens
// (one daemon at a time). One connection, made again on the next call
// after it is lost; every change is a single statement or a transaction,
// so a failed call changes nothing. An append is a COPY of the records and
// an upsert of the marks in one transaction (four round trips).
class PostgresAuditStore final : public AuditStore {
public:
  using Options = db::PostgresConnection::Options;

  // Connects for chain and migrates the schema. Returns a failure if the
  // server cannot be reached (unavailable), if the DSN is not one (invalid),
  // or if the schema is newer than this program knows (corrupt).
  static Result<std::unique_ptr<PostgresAuditStore>> open(Options options,
                                                          std::string chain);

  PostgresAuditStore(const PostgresAuditStore &) = delete;
  PostgresAuditStore &operator=(const PostgresAuditStore &) = delete;
  ~PostgresAuditStore() override;

private:
  PostgresAuditStore(std::string chain, std::string chain_id,
                     std::unique_ptr<db::PostgresConnection> connection);

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

  // Returns the checkpoints sql selects (size, hash, time, note) with the
  // parameters given, after the chain ($1).
  Result<std::vector<Checkpoint>>
  select_checkpoints(const char *sql, std::vector<std::string> parameters);

  std::string m_chain_id; // in audit_chains, as a parameter
  std::unique_ptr<db::PostgresConnection> m_connection;
};

} // namespace dovewarden::audit
