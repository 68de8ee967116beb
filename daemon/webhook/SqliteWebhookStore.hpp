#pragma once

#include "db/SqliteDatabase.hpp"
#include "webhook/WebhookStore.hpp"

#include <memory>
#include <string>
#include <unordered_map>

namespace dovewarden::webhook {

// The embedded webhook store: webhooks.db (SQLite, WAL) in the directory of
// the replication store, for one daemon. One connection, one call at a time.
// Endpoints are kept as JSON (StoredEndpoint), failing_since beside it; times
// are ms since the epoch; each delivery keeps its last k_attempts_kept
// attempts.
class SqliteWebhookStore final : public WebhookStore {
public:
  static constexpr std::size_t k_attempts_kept = 50;

  // Opens directory/webhooks.db, creating both if missing. Returns a failure
  // if they cannot be created or opened (unavailable), or if the file is not
  // a database or its schema is newer than this program knows (corrupt).
  static Result<std::unique_ptr<SqliteWebhookStore>>
  open(const std::string &directory);

  SqliteWebhookStore(const SqliteWebhookStore &) = delete;
  SqliteWebhookStore &operator=(const SqliteWebhookStore &) = delete;
  ~SqliteWebhookStore() override;

private:
  struct Statements;

  explicit SqliteWebhookStore(std::unique_ptr<db::SqliteDatabase> database);

  Result<void> do_ping() override;
  Result<void> do_probe() override;
  Result<bool> do_put_endpoint(const Endpoint &endpoint, bool replace) override;
  Result<std::optional<Endpoint>> do_endpoint(const std::string &id) override;
  Result<std::vector<Endpoint>> do_endpoints() override;
  Result<bool> do_remove_endpoint(const std::string &id) override;
  Result<std::uint64_t> do_endpoints_version() override;
  Result<void> do_enqueue(const std::vector<Delivery> &deliveries) override;
  Result<std::vector<Delivery>> do_claim(const std::string &owner,
                                         TimePoint now,
                                         std::chrono::milliseconds lease,
                                         std::size_t max,
                                         std::size_t per_endpoint) override;
  Result<bool> do_finish(const Delivery &delivery, const std::string &owner,
                         const Attempt &attempt,
                         const Outcome &outcome) override;
  Result<std::vector<bool>>
  do_finish_all(const std::vector<Finish> &finishes) override;
  Result<std::size_t> do_release_owner(const std::string &owner) override;
  Result<std::vector<DeliveryRecord>>
  do_deliveries(const std::string &endpoint_id, std::size_t limit) override;
  Result<std::optional<DeliveryRecord>>
  do_delivery(const std::string &id) override;
  Result<bool> do_redeliver(const std::string &id, TimePoint now) override;
  Result<std::size_t> do_recover(const std::string &endpoint_id,
                                 TimePoint since, TimePoint until,
                                 TimePoint now) override;
  Result<std::uint64_t> do_pending() override;
  Result<std::size_t> do_prune(TimePoint before, std::size_t at_most) override;

  // Returns the endpoints a statement selects (data, failing_since).
  Result<std::vector<Endpoint>> read_endpoints(sqlite3_stmt *statement);
  // Returns the deliveries a statement selects, with their attempts.
  Result<std::vector<DeliveryRecord>> read_records(sqlite3_stmt *statement);
  // Each endpoint's streak as the finishes of one transaction left it:
  // true if its last attempt succeeded.
  using Streaks = std::unordered_map<std::string, bool>;
  // finish() inside a transaction; an endpoint's streak is only written
  // where it turns.
  Result<bool> finish_one(const Delivery &delivery, const std::string &owner,
                          const Attempt &attempt, const Outcome &outcome,
                          Streaks &streaks);
  // Runs a statement that changes rows; returns how many, or a failure.
  Result<int> run(sqlite3_stmt *statement);

  std::unique_ptr<db::SqliteDatabase> m_database;
  std::unique_ptr<Statements> m_statements;
};

} // namespace dovewarden::webhook
