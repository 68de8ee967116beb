#include "store/SqliteStore.hpp"

#include "util/Glob.hpp"

#include <algorithm>

namespace dovewarden::store {

namespace {

using db::SqliteDatabase;
using Reset = SqliteDatabase::Reset;
using db::sqlite::bind_value;
using db::sqlite::column_text;
using db::sqlite::from_ms;
using db::sqlite::to_ms;

constexpr int k_schema_version = 1;

constexpr const char *k_schema = R"(
CREATE TABLE users (
  user TEXT PRIMARY KEY NOT NULL,
  queued INTEGER NOT NULL DEFAULT 0,
  priority INTEGER NOT NULL DEFAULT 0,
  requested INTEGER NOT NULL DEFAULT 0,
  full_requested INTEGER NOT NULL DEFAULT 0,
  generation INTEGER NOT NULL DEFAULT 0,
  dsync_state TEXT NOT NULL DEFAULT '',
  last_fast INTEGER NOT NULL DEFAULT 0,
  last_full INTEGER NOT NULL DEFAULT 0,
  last_success INTEGER NOT NULL DEFAULT 0,
  failed INTEGER NOT NULL DEFAULT 0,
  failures INTEGER NOT NULL DEFAULT 0,
  next_attempt INTEGER NOT NULL DEFAULT 0,
  last_error TEXT NOT NULL DEFAULT '',
  owner TEXT NOT NULL DEFAULT '',
  lease_until INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE INDEX users_claim ON users (queued, priority DESC, requested);
CREATE INDEX users_lease ON users (lease_until) WHERE owner <> '';
)";

// a request merges with a queued entry, or starts a new one on a user that
// is not queued; the sweep's condition skips users synced recently. The
// generation only matters while a claim is out, so a request that changes
// nothing of an unleased entry writes nothing: most requests of a busy user.
constexpr const char *k_enqueue = R"(
INSERT INTO users (user, queued, priority, requested, full_requested,
                   generation)
VALUES (?1, 1, ?2, ?3, ?4, 1)
ON CONFLICT (user) DO UPDATE SET
  priority = CASE WHEN queued THEN max(priority, excluded.priority)
             ELSE excluded.priority END,
  requested = CASE WHEN queued THEN min(requested, excluded.requested)
              ELSE excluded.requested END,
  full_requested = CASE WHEN queued
                   THEN full_requested OR excluded.full_requested
                   ELSE excluded.full_requested END,
  queued = 1,
  generation = generation + 1,
  -- sync priority is an operator's "now": it cuts a backoff short
  next_attempt = CASE WHEN excluded.priority = 3 THEN 0 ELSE next_attempt END
WHERE (?5 IS NULL OR last_success = 0 OR last_success < ?5)
  AND (NOT queued OR owner <> '' OR excluded.priority > priority
       OR excluded.requested < requested
       OR (excluded.full_requested AND NOT full_requested)
       OR (excluded.priority = 3 AND next_attempt > 0))
)";

constexpr const char *k_reap = R"(
UPDATE users SET owner = '', lease_until = 0
WHERE owner <> '' AND lease_until <= ?1
)";

constexpr const char *k_claim = R"(
UPDATE users SET owner = ?1, lease_until = ?2
WHERE user = (SELECT user FROM users
              WHERE queued = 1 AND owner = '' AND next_attempt <= ?3
              ORDER BY priority DESC, requested LIMIT 1)
RETURNING user, priority, full_requested, dsync_state, last_full, failures,
          generation
)";

constexpr const char *k_renew = R"(
UPDATE users SET lease_until = ?3 WHERE user = ?1 AND owner = ?2
)";

constexpr const char *k_succeed = R"(
UPDATE users SET
  dsync_state = ?3,
  last_fast = CASE WHEN ?4 THEN last_fast ELSE ?5 END,
  last_full = CASE WHEN ?4 THEN ?5 ELSE last_full END,
  last_success = ?5,
  failed = 0, failures = 0, next_attempt = 0, last_error = '',
  owner = '', lease_until = 0,
  queued = generation <> ?6,
  priority = CASE WHEN generation <> ?6 THEN priority ELSE 0 END,
  requested = CASE WHEN generation <> ?6 THEN requested ELSE 0 END,
  -- a full sync answers every full request, also those made while it ran
  full_requested = CASE WHEN generation <> ?6 AND NOT ?4 THEN full_requested
                   ELSE 0 END
WHERE user = ?1 AND owner = ?2
)";

constexpr const char *k_fail = R"(
UPDATE users SET
  failed = 1, failures = failures + 1, last_error = ?3, next_attempt = ?4,
  owner = '', lease_until = 0, queued = 1
WHERE user = ?1 AND owner = ?2
)";

constexpr const char *k_release = R"(
UPDATE users SET owner = '', lease_until = 0 WHERE user = ?1 AND owner = ?2
)";

constexpr const char *k_remove = "DELETE FROM users WHERE user = ?1";

constexpr const char *k_lease_owners =
    "SELECT DISTINCT owner FROM users WHERE owner <> '' ORDER BY owner";

constexpr const char *k_release_owner = R"(
UPDATE users SET owner = '', lease_until = 0
WHERE owner <> '' AND owner = ?1
)";

constexpr const char *k_users = R"(
SELECT user, queued, priority, requested, full_requested, last_fast,
       last_full, last_success, failed, failures, next_attempt, last_error,
       owner, lease_until
FROM users WHERE ?1 = '*' OR dovewarden_glob(?1, user) ORDER BY user
)";

constexpr const char *k_status = R"(
SELECT total(queued AND priority = 0), total(queued AND priority = 1),
       total(queued AND priority = 2), total(queued AND priority = 3),
       total(queued AND next_attempt > ?1),
       total(owner <> '' AND lease_until > ?1),
       total(failed), count(*)
FROM users
)";

void glob_function(sqlite3_context *context, int, sqlite3_value **values) {
  const auto *pattern = sqlite3_value_text(values[0]);
  const auto *text = sqlite3_value_text(values[1]);
  if (pattern == nullptr || text == nullptr) {
    sqlite3_result_int(context, 0);
    return;
  }
  const std::string_view pattern_view(
      reinterpret_cast<const char *>(pattern),
      static_cast<std::size_t>(sqlite3_value_bytes(values[0])));
  const std::string_view text_view(
      reinterpret_cast<const char *>(text),
      static_cast<std::size_t>(sqlite3_value_bytes(values[1])));
  sqlite3_result_int(context, util::glob_match(pattern_view, text_view));
}

} // namespace

struct SqliteStore::Statements {
  Statement enqueue;
  Statement reap;
  Statement claim;
  Statement renew;
  Statement succeed;
  Statement fail;
  Statement release;
  Statement remove;
  Statement lease_owners;
  Statement release_owner;
  Statement users;
  Statement status;
};

SqliteStore::Result<std::unique_ptr<SqliteStore>>
SqliteStore::open(const std::string &directory) {
  auto database = SqliteDatabase::open(directory, "replication.db", k_schema,
                                       k_schema_version);
  if (!database)
    return tl::unexpected(database.error());
  sqlite3_create_function_v2((*database)->handle(), "dovewarden_glob", 2,
                             SQLITE_UTF8 | SQLITE_DETERMINISTIC, nullptr,
                             glob_function, nullptr, nullptr, nullptr);
  std::unique_ptr<SqliteStore> store(new SqliteStore(std::move(*database)));
  auto &s = *store->m_statements;
  if (auto prepared = store->m_database->prepare({
          {&s.enqueue, k_enqueue},
          {&s.reap, k_reap},
          {&s.claim, k_claim},
          {&s.renew, k_renew},
          {&s.succeed, k_succeed},
          {&s.fail, k_fail},
          {&s.release, k_release},
          {&s.remove, k_remove},
          {&s.lease_owners, k_lease_owners},
          {&s.release_owner, k_release_owner},
          {&s.users, k_users},
          {&s.status, k_status},
      });
      !prepared)
    return tl::unexpected(prepared.error());
  return store;
}

SqliteStore::SqliteStore(std::unique_ptr<db::SqliteDatabase> database)
    : m_database(std::move(database)),
      m_statements(std::make_unique<Statements>()) {}

// the statements must be finalized before the database closes
SqliteStore::~SqliteStore() { m_statements.reset(); }

SqliteStore::Result<int> SqliteStore::run(sqlite3_stmt *statement) {
  return m_database->run(statement);
}

db::StoreFailure SqliteStore::error(const char *what) const {
  return m_database->error(what);
}

std::string SqliteStore::describe() const {
  return "sqlite " + m_database->path();
}

SqliteStore::Result<void> SqliteStore::do_ping() {
  return m_database->execute("SELECT 1 FROM users LIMIT 1");
}

SqliteStore::Result<void> SqliteStore::do_probe() {
  return m_database->write_probe();
}

SqliteStore::Result<void>
SqliteStore::do_enqueue(const std::vector<SyncRequest> &requests) {
  // in key order, the upserts walk the tree instead of jumping about it;
  // merging commutes, so the order does not change the outcome
  std::vector<const SyncRequest *> sorted;
  sorted.reserve(requests.size());
  for (const auto &request : requests)
    sorted.push_back(&request);
  std::sort(sorted.begin(), sorted.end(),
            [](const SyncRequest *a, const SyncRequest *b) {
              return a->user < b->user;
            });
  return m_database->transaction([&]() -> Result<void> {
    auto *statement = m_statements->enqueue.get();
    for (const SyncRequest *request_pointer : sorted) {
      const SyncRequest &request = *request_pointer;
      bind_value(statement, 1, request.user);
      bind_value(statement, 2, static_cast<std::int64_t>(request.priority));
      bind_value(statement, 3, to_ms(request.requested));
      bind_value(statement, 4, std::int64_t{request.full});
      if (request.unless_synced_since)
        bind_value(statement, 5, to_ms(*request.unless_synced_since));
      if (auto done = run(statement); !done)
        return tl::unexpected(done.error());
    }
    return {};
  });
}

SqliteStore::Result<std::optional<Claim>>
SqliteStore::do_claim(const std::string &owner, TimePoint now,
                      std::chrono::milliseconds lease) {
  return m_database->transaction([&]() -> Result<std::optional<Claim>> {
    bind_value(m_statements->reap.get(), 1, to_ms(now));
    if (auto reaped = run(m_statements->reap.get()); !reaped)
      return tl::unexpected(reaped.error());

    auto *statement = m_statements->claim.get();
    const Reset reset(statement);
    bind_value(statement, 1, owner);
    bind_value(statement, 2, to_ms(now + lease));
    bind_value(statement, 3, to_ms(now));
    const int rc = sqlite3_step(statement);
    if (rc == SQLITE_DONE)
      return std::nullopt;
    if (rc != SQLITE_ROW)
      return tl::unexpected(error("claim"));
    Claim claim;
    claim.user = column_text(statement, 0);
    claim.priority = priority_of(sqlite3_column_int64(statement, 1));
    claim.full = sqlite3_column_int64(statement, 2) != 0;
    claim.dsync_state = column_text(statement, 3);
    claim.last_full_sync = from_ms(sqlite3_column_int64(statement, 4));
    claim.failures = sqlite3_column_int(statement, 5);
    claim.generation =
        static_cast<std::uint64_t>(sqlite3_column_int64(statement, 6));
    if (sqlite3_step(statement) != SQLITE_DONE)
      return tl::unexpected(error("claim"));
    return claim;
  });
}

SqliteStore::Result<bool>
SqliteStore::do_renew(const Claim &claim, const std::string &owner,
                      TimePoint now, std::chrono::milliseconds lease) {
  auto *statement = m_statements->renew.get();
  bind_value(statement, 1, claim.user);
  bind_value(statement, 2, owner);
  bind_value(statement, 3, to_ms(now + lease));
  auto changed = run(statement);
  if (!changed)
    return tl::unexpected(changed.error());
  return *changed > 0;
}

SqliteStore::Result<void> SqliteStore::do_succeed(const Claim &claim,
                                                  const std::string &owner,
                                                  const std::string &new_state,
                                                  bool was_full,
                                                  TimePoint now) {
  auto *statement = m_statements->succeed.get();
  bind_value(statement, 1, claim.user);
  bind_value(statement, 2, owner);
  bind_value(statement, 3, new_state);
  bind_value(statement, 4, std::int64_t{was_full});
  bind_value(statement, 5, to_ms(now));
  bind_value(statement, 6, static_cast<std::int64_t>(claim.generation));
  auto changed = run(statement);
  if (!changed)
    return tl::unexpected(changed.error());
  return {};
}

SqliteStore::Result<void> SqliteStore::do_fail(const Claim &claim,
                                               const std::string &owner,
                                               const std::string &error,
                                               TimePoint, TimePoint retry_at) {
  auto *statement = m_statements->fail.get();
  bind_value(statement, 1, claim.user);
  bind_value(statement, 2, owner);
  bind_value(statement, 3, error);
  bind_value(statement, 4, to_ms(retry_at));
  auto changed = run(statement);
  if (!changed)
    return tl::unexpected(changed.error());
  return {};
}

SqliteStore::Result<void> SqliteStore::do_release(const Claim &claim,
                                                  const std::string &owner) {
  auto *statement = m_statements->release.get();
  bind_value(statement, 1, claim.user);
  bind_value(statement, 2, owner);
  auto changed = run(statement);
  if (!changed)
    return tl::unexpected(changed.error());
  return {};
}

SqliteStore::Result<bool> SqliteStore::do_remove(const std::string &user) {
  auto *statement = m_statements->remove.get();
  bind_value(statement, 1, user);
  auto changed = run(statement);
  if (!changed)
    return tl::unexpected(changed.error());
  return *changed > 0;
}

SqliteStore::Result<std::vector<std::string>> SqliteStore::do_lease_owners() {
  auto *statement = m_statements->lease_owners.get();
  const Reset reset(statement);
  std::vector<std::string> owners;
  int rc;
  while ((rc = sqlite3_step(statement)) == SQLITE_ROW)
    owners.push_back(column_text(statement, 0));
  if (rc != SQLITE_DONE)
    return tl::unexpected(error("lease_owners"));
  return owners;
}

SqliteStore::Result<std::size_t>
SqliteStore::do_release_owner(const std::string &owner) {
  auto *statement = m_statements->release_owner.get();
  bind_value(statement, 1, owner);
  auto changed = run(statement);
  if (!changed)
    return tl::unexpected(changed.error());
  return static_cast<std::size_t>(*changed);
}

SqliteStore::Result<std::vector<UserRecord>>
SqliteStore::do_users(std::string_view mask) {
  auto *statement = m_statements->users.get();
  const Reset reset(statement);
  sqlite3_bind_text(statement, 1, mask.data(), static_cast<int>(mask.size()),
                    SQLITE_TRANSIENT);
  std::vector<UserRecord> records;
  int rc;
  while ((rc = sqlite3_step(statement)) == SQLITE_ROW) {
    UserRecord record;
    record.user = column_text(statement, 0);
    record.queued = sqlite3_column_int64(statement, 1) != 0;
    record.priority = priority_of(sqlite3_column_int64(statement, 2));
    record.requested = from_ms(sqlite3_column_int64(statement, 3));
    record.full_requested = sqlite3_column_int64(statement, 4) != 0;
    record.last_fast_sync = from_ms(sqlite3_column_int64(statement, 5));
    record.last_full_sync = from_ms(sqlite3_column_int64(statement, 6));
    record.last_success = from_ms(sqlite3_column_int64(statement, 7));
    record.failed = sqlite3_column_int64(statement, 8) != 0;
    record.failures = sqlite3_column_int(statement, 9);
    record.next_attempt = from_ms(sqlite3_column_int64(statement, 10));
    record.last_error = column_text(statement, 11);
    record.owner = column_text(statement, 12);
    record.lease_until = from_ms(sqlite3_column_int64(statement, 13));
    records.push_back(std::move(record));
  }
  if (rc != SQLITE_DONE)
    return tl::unexpected(error("users"));
  return records;
}

SqliteStore::Result<QueueStatus> SqliteStore::do_status(TimePoint now) {
  auto *statement = m_statements->status.get();
  const Reset reset(statement);
  bind_value(statement, 1, to_ms(now));
  if (sqlite3_step(statement) != SQLITE_ROW)
    return tl::unexpected(error("status"));
  auto count = [statement](int column) {
    return static_cast<std::uint64_t>(sqlite3_column_int64(statement, column));
  };
  QueueStatus status;
  for (int p = 0; p < k_priority_count; p++)
    status.queued[static_cast<std::size_t>(p)] = count(p);
  status.waiting = count(4);
  status.running = count(5);
  status.failed = count(6);
  status.users = count(7);
  return status;
}

} // namespace dovewarden::store
