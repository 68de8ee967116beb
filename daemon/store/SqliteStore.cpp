#include "store/SqliteStore.hpp"

#include "util/Glob.hpp"
#include "util/Strings.hpp"
#include "util/System.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>

namespace dovewarden::store {

namespace {

constexpr int k_schema_version = 1;
constexpr int k_busy_timeout_ms = 5000;

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

std::int64_t to_ms(TimePoint time) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             time.time_since_epoch())
      .count();
}

TimePoint from_ms(std::int64_t ms) {
  return TimePoint(std::chrono::milliseconds(ms));
}

Priority to_priority(std::int64_t value) {
  if (value < 0 || value >= replication::k_priority_count)
    return Priority::none;
  return static_cast<Priority>(value);
}

std::string column_text(sqlite3_stmt *statement, int column) {
  const auto *text = sqlite3_column_text(statement, column);
  if (text == nullptr)
    return {};
  return std::string(
      reinterpret_cast<const char *>(text),
      static_cast<std::size_t>(sqlite3_column_bytes(statement, column)));
}

void bind(sqlite3_stmt *statement, int index, const std::string &text) {
  sqlite3_bind_text(statement, index, text.data(),
                    static_cast<int>(text.size()), SQLITE_STATIC);
}

void bind(sqlite3_stmt *statement, int index, std::int64_t value) {
  sqlite3_bind_int64(statement, index, value);
}

// Resets a statement and its bindings when a call is done with it, so that
// no statement keeps a read transaction open.
class Reset {
public:
  explicit Reset(sqlite3_stmt *statement) : m_statement(statement) {}
  Reset(const Reset &) = delete;
  Reset &operator=(const Reset &) = delete;
  ~Reset() {
    sqlite3_reset(m_statement);
    sqlite3_clear_bindings(m_statement);
  }

private:
  sqlite3_stmt *m_statement;
};

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
  Statement begin{nullptr, sqlite3_finalize};
  Statement commit{nullptr, sqlite3_finalize};
  Statement rollback{nullptr, sqlite3_finalize};
  Statement enqueue{nullptr, sqlite3_finalize};
  Statement reap{nullptr, sqlite3_finalize};
  Statement claim{nullptr, sqlite3_finalize};
  Statement renew{nullptr, sqlite3_finalize};
  Statement succeed{nullptr, sqlite3_finalize};
  Statement fail{nullptr, sqlite3_finalize};
  Statement release{nullptr, sqlite3_finalize};
  Statement remove{nullptr, sqlite3_finalize};
  Statement lease_owners{nullptr, sqlite3_finalize};
  Statement release_owner{nullptr, sqlite3_finalize};
  Statement users{nullptr, sqlite3_finalize};
  Statement status{nullptr, sqlite3_finalize};
};

tl::expected<std::unique_ptr<SqliteStore>, std::string>
SqliteStore::open(const std::string &directory) {
  if (::mkdir(directory.c_str(), 0750) != 0 && errno != EEXIST) {
    const int errnum = errno;
    return tl::unexpected("cannot create " + util::quote(directory) + ": " +
                          util::error_text(errnum));
  }
  const std::string path = directory + "/replication.db";
  sqlite3 *raw = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &raw,
                                 SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
                                     SQLITE_OPEN_NOMUTEX,
                                 nullptr);
  Database database(raw, sqlite3_close);
  if (rc != SQLITE_OK) {
    return tl::unexpected(
        "cannot open " + util::quote(path) + ": " +
        (raw != nullptr ? sqlite3_errmsg(raw) : sqlite3_errstr(rc)));
  }
  std::unique_ptr<SqliteStore> store(
      new SqliteStore(path, std::move(database)));
  sqlite3_busy_timeout(store->m_database.get(), k_busy_timeout_ms);
  sqlite3_create_function_v2(store->m_database.get(), "dovewarden_glob", 2,
                             SQLITE_UTF8 | SQLITE_DETERMINISTIC, nullptr,
                             glob_function, nullptr, nullptr, nullptr);
  for (const char *pragma :
       {"PRAGMA journal_mode = WAL", "PRAGMA synchronous = NORMAL",
        "PRAGMA cache_size = -65536", "PRAGMA wal_autocheckpoint = 10000"}) {
    if (auto done = store->execute(pragma); !done)
      return tl::unexpected(done.error());
  }

  auto version = store->prepare("PRAGMA user_version");
  if (!version)
    return tl::unexpected(version.error());
  if (sqlite3_step(version->get()) != SQLITE_ROW)
    return tl::unexpected(store->error("PRAGMA user_version"));
  const int found = sqlite3_column_int(version->get(), 0);
  version->reset();
  if (found > k_schema_version) {
    return tl::unexpected(util::quote(path) + " has schema version " +
                          std::to_string(found) +
                          ", newer than this dovewardend knows (" +
                          std::to_string(k_schema_version) +
                          "): run the newer dovewardend or move the file away");
  }
  if (found == 0) {
    const std::string create =
        std::string("BEGIN IMMEDIATE;") + k_schema +
        "PRAGMA user_version = " + std::to_string(k_schema_version) +
        ";COMMIT;";
    if (auto done = store->execute(create.c_str()); !done) {
      store->execute("ROLLBACK");
      return tl::unexpected(done.error());
    }
  }
  if (auto prepared = store->prepare_statements(); !prepared)
    return tl::unexpected(prepared.error());
  return store;
}

SqliteStore::SqliteStore(std::string path, Database database)
    : m_path(std::move(path)), m_database(std::move(database)),
      m_statements(std::make_unique<Statements>()) {}

// the statements must be finalized before the database closes
SqliteStore::~SqliteStore() { m_statements.reset(); }

SqliteStore::Result<SqliteStore::Statement>
SqliteStore::prepare(const char *sql) {
  sqlite3_stmt *raw = nullptr;
  if (sqlite3_prepare_v3(m_database.get(), sql, -1, SQLITE_PREPARE_PERSISTENT,
                         &raw, nullptr) != SQLITE_OK) {
    return tl::unexpected(error("prepare"));
  }
  return Statement(raw, sqlite3_finalize);
}

SqliteStore::Result<void> SqliteStore::prepare_statements() {
  const std::pair<Statement *, const char *> all[] = {
      {&m_statements->begin, "BEGIN IMMEDIATE"},
      {&m_statements->commit, "COMMIT"},
      {&m_statements->rollback, "ROLLBACK"},
      {&m_statements->enqueue, k_enqueue},
      {&m_statements->reap, k_reap},
      {&m_statements->claim, k_claim},
      {&m_statements->renew, k_renew},
      {&m_statements->succeed, k_succeed},
      {&m_statements->fail, k_fail},
      {&m_statements->release, k_release},
      {&m_statements->remove, k_remove},
      {&m_statements->lease_owners, k_lease_owners},
      {&m_statements->release_owner, k_release_owner},
      {&m_statements->users, k_users},
      {&m_statements->status, k_status},
  };
  for (const auto &[statement, sql] : all) {
    auto prepared = prepare(sql);
    if (!prepared)
      return tl::unexpected(prepared.error());
    *statement = std::move(*prepared);
  }
  return {};
}

SqliteStore::Result<void> SqliteStore::execute(const char *sql) {
  char *message = nullptr;
  if (sqlite3_exec(m_database.get(), sql, nullptr, nullptr, &message) !=
      SQLITE_OK) {
    std::string text = m_path + ": " + (message ? message : "unknown error");
    sqlite3_free(message);
    return tl::unexpected(text);
  }
  return {};
}

SqliteStore::Result<int> SqliteStore::run(sqlite3_stmt *statement) {
  const Reset reset(statement);
  int rc;
  while ((rc = sqlite3_step(statement)) == SQLITE_ROW) {
  }
  if (rc != SQLITE_DONE)
    return tl::unexpected(error(sqlite3_sql(statement)));
  return sqlite3_changes(m_database.get());
}

SqliteStore::Error SqliteStore::error(const char *what) const {
  std::string text = what;
  const auto start = text.find_first_not_of(" \n");
  text = text.substr(start == std::string::npos ? 0 : start);
  text = text.substr(0, text.find_first_of(" \n"));
  return m_path + ": " + text + " failed: " + sqlite3_errmsg(m_database.get());
}

std::string SqliteStore::describe() const { return "sqlite " + m_path; }

SqliteStore::Result<void> SqliteStore::ping() {
  const std::lock_guard lock(m_mutex);
  return execute("SELECT 1 FROM users LIMIT 1");
}

SqliteStore::Result<void>
SqliteStore::enqueue(const std::vector<SyncRequest> &requests) {
  if (requests.empty())
    return {};
  const std::lock_guard lock(m_mutex);
  if (auto begun = run(m_statements->begin.get()); !begun)
    return tl::unexpected(begun.error());
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
  auto *statement = m_statements->enqueue.get();
  for (const SyncRequest *request_pointer : sorted) {
    const SyncRequest &request = *request_pointer;
    bind(statement, 1, request.user);
    bind(statement, 2, static_cast<std::int64_t>(request.priority));
    bind(statement, 3, to_ms(request.requested));
    bind(statement, 4, std::int64_t{request.full});
    if (request.unless_synced_since)
      bind(statement, 5, to_ms(*request.unless_synced_since));
    if (auto done = run(statement); !done) {
      run(m_statements->rollback.get());
      return tl::unexpected(done.error());
    }
  }
  if (auto committed = run(m_statements->commit.get()); !committed) {
    run(m_statements->rollback.get());
    return tl::unexpected(committed.error());
  }
  return {};
}

SqliteStore::Result<std::optional<Claim>>
SqliteStore::claim(const std::string &owner, TimePoint now,
                   std::chrono::milliseconds lease) {
  if (owner.empty())
    return tl::unexpected(std::string("claim: empty owner"));
  const std::lock_guard lock(m_mutex);
  if (auto begun = run(m_statements->begin.get()); !begun)
    return tl::unexpected(begun.error());
  auto rollback = [this](Error error) {
    run(m_statements->rollback.get());
    return tl::unexpected(std::move(error));
  };

  bind(m_statements->reap.get(), 1, to_ms(now));
  if (auto reaped = run(m_statements->reap.get()); !reaped)
    return rollback(reaped.error());

  auto *statement = m_statements->claim.get();
  std::optional<Claim> claimed;
  {
    const Reset reset(statement);
    bind(statement, 1, owner);
    bind(statement, 2, to_ms(now + lease));
    bind(statement, 3, to_ms(now));
    const int rc = sqlite3_step(statement);
    if (rc == SQLITE_ROW) {
      Claim claim;
      claim.user = column_text(statement, 0);
      claim.priority = to_priority(sqlite3_column_int64(statement, 1));
      claim.full = sqlite3_column_int64(statement, 2) != 0;
      claim.dsync_state = column_text(statement, 3);
      claim.last_full_sync = from_ms(sqlite3_column_int64(statement, 4));
      claim.failures = sqlite3_column_int(statement, 5);
      claim.generation =
          static_cast<std::uint64_t>(sqlite3_column_int64(statement, 6));
      claimed = std::move(claim);
      if (sqlite3_step(statement) != SQLITE_DONE)
        return rollback(error("claim"));
    } else if (rc != SQLITE_DONE) {
      return rollback(error("claim"));
    }
  }
  if (auto committed = run(m_statements->commit.get()); !committed)
    return rollback(committed.error());
  return claimed;
}

SqliteStore::Result<bool> SqliteStore::renew(const Claim &claim,
                                             const std::string &owner,
                                             TimePoint now,
                                             std::chrono::milliseconds lease) {
  if (owner.empty())
    return false;
  const std::lock_guard lock(m_mutex);
  auto *statement = m_statements->renew.get();
  bind(statement, 1, claim.user);
  bind(statement, 2, owner);
  bind(statement, 3, to_ms(now + lease));
  auto changed = run(statement);
  if (!changed)
    return tl::unexpected(changed.error());
  return *changed > 0;
}

SqliteStore::Result<void> SqliteStore::succeed(const Claim &claim,
                                               const std::string &owner,
                                               const std::string &new_state,
                                               bool was_full, TimePoint now) {
  const std::lock_guard lock(m_mutex);
  auto *statement = m_statements->succeed.get();
  bind(statement, 1, claim.user);
  bind(statement, 2, owner);
  bind(statement, 3, new_state);
  bind(statement, 4, std::int64_t{was_full});
  bind(statement, 5, to_ms(now));
  bind(statement, 6, static_cast<std::int64_t>(claim.generation));
  auto changed = run(statement);
  if (!changed)
    return tl::unexpected(changed.error());
  return {};
}

SqliteStore::Result<void> SqliteStore::fail(const Claim &claim,
                                            const std::string &owner,
                                            const std::string &error, TimePoint,
                                            TimePoint retry_at) {
  const std::lock_guard lock(m_mutex);
  auto *statement = m_statements->fail.get();
  bind(statement, 1, claim.user);
  bind(statement, 2, owner);
  bind(statement, 3, error);
  bind(statement, 4, to_ms(retry_at));
  auto changed = run(statement);
  if (!changed)
    return tl::unexpected(changed.error());
  return {};
}

SqliteStore::Result<void> SqliteStore::release(const Claim &claim,
                                               const std::string &owner) {
  const std::lock_guard lock(m_mutex);
  auto *statement = m_statements->release.get();
  bind(statement, 1, claim.user);
  bind(statement, 2, owner);
  auto changed = run(statement);
  if (!changed)
    return tl::unexpected(changed.error());
  return {};
}

SqliteStore::Result<bool> SqliteStore::remove(const std::string &user) {
  const std::lock_guard lock(m_mutex);
  auto *statement = m_statements->remove.get();
  bind(statement, 1, user);
  auto changed = run(statement);
  if (!changed)
    return tl::unexpected(changed.error());
  return *changed > 0;
}

SqliteStore::Result<std::vector<std::string>> SqliteStore::lease_owners() {
  const std::lock_guard lock(m_mutex);
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
SqliteStore::release_owner(const std::string &owner) {
  const std::lock_guard lock(m_mutex);
  auto *statement = m_statements->release_owner.get();
  bind(statement, 1, owner);
  auto changed = run(statement);
  if (!changed)
    return tl::unexpected(changed.error());
  return static_cast<std::size_t>(*changed);
}

SqliteStore::Result<std::vector<UserRecord>>
SqliteStore::users(std::string_view mask) {
  const std::lock_guard lock(m_mutex);
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
    record.priority = to_priority(sqlite3_column_int64(statement, 2));
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

SqliteStore::Result<QueueStatus> SqliteStore::status(TimePoint now) {
  const std::lock_guard lock(m_mutex);
  auto *statement = m_statements->status.get();
  const Reset reset(statement);
  bind(statement, 1, to_ms(now));
  if (sqlite3_step(statement) != SQLITE_ROW)
    return tl::unexpected(error("status"));
  auto count = [statement](int column) {
    return static_cast<std::uint64_t>(sqlite3_column_int64(statement, column));
  };
  QueueStatus status;
  for (int p = 0; p < replication::k_priority_count; p++)
    status.queued[static_cast<std::size_t>(p)] = count(p);
  status.waiting = count(4);
  status.running = count(5);
  status.failed = count(6);
  status.users = count(7);
  return status;
}

} // namespace dovewarden::store
