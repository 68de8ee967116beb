#include "webhook/SqliteWebhookStore.hpp"

#include "webhook/StoredEndpoint.hpp"

#include <algorithm>
#include <tuple>
#include <unordered_map>
#include <utility>

namespace dovewarden::webhook {

namespace {

using db::SqliteDatabase;
using Reset = SqliteDatabase::Reset;
using db::sqlite::bind_blob;
using db::sqlite::bind_value;
using db::sqlite::column_text;
using db::sqlite::from_ms;
using db::sqlite::to_ms;

constexpr int k_schema_version = 1;

// deliveries.state is a DeliveryState: 0 pending, 1 succeeded, 2 failed
constexpr const char *k_schema = R"(
CREATE TABLE endpoints (
  id TEXT PRIMARY KEY NOT NULL,
  created INTEGER NOT NULL,
  failing_since INTEGER NOT NULL DEFAULT 0,
  data TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE counters (
  name TEXT PRIMARY KEY NOT NULL,
  value INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO counters VALUES ('endpoints', 0);
CREATE TABLE deliveries (
  seq INTEGER PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  endpoint_id TEXT NOT NULL,
  event_type TEXT NOT NULL,
  events INTEGER NOT NULL,
  body BLOB NOT NULL,
  created INTEGER NOT NULL,
  state INTEGER NOT NULL DEFAULT 0,
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt INTEGER NOT NULL,
  owner TEXT NOT NULL DEFAULT '',
  lease_until INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX deliveries_due ON deliveries (state, next_attempt);
CREATE INDEX deliveries_endpoint ON deliveries (endpoint_id, created);
CREATE INDEX deliveries_owner ON deliveries (owner) WHERE owner <> '';
CREATE TABLE attempts (
  seq INTEGER PRIMARY KEY,
  delivery_id TEXT NOT NULL,
  at INTEGER NOT NULL,
  status INTEGER NOT NULL,
  latency_ms INTEGER NOT NULL,
  error TEXT NOT NULL,
  response BLOB NOT NULL
);
CREATE INDEX attempts_delivery ON attempts (delivery_id, seq);
)";

// ?5: replace
constexpr const char *k_put_endpoint = R"(
INSERT INTO endpoints (id, created, failing_since, data) VALUES (?1, ?2, ?3, ?4)
ON CONFLICT (id) DO UPDATE SET created = excluded.created,
  failing_since = excluded.failing_since, data = excluded.data
WHERE ?5
)";

constexpr const char *k_bump_version =
    "UPDATE counters SET value = value + 1 WHERE name = 'endpoints'";

constexpr const char *k_version =
    "SELECT value FROM counters WHERE name = 'endpoints'";

constexpr const char *k_endpoint =
    "SELECT data, failing_since FROM endpoints WHERE id = ?1";

constexpr const char *k_endpoints =
    "SELECT data, failing_since FROM endpoints ORDER BY created, id";

constexpr const char *k_remove_endpoint_attempts = R"(
DELETE FROM attempts
WHERE delivery_id IN (SELECT id FROM deliveries WHERE endpoint_id = ?1)
)";

constexpr const char *k_remove_endpoint_deliveries =
    "DELETE FROM deliveries WHERE endpoint_id = ?1";

constexpr const char *k_remove_endpoint = "DELETE FROM endpoints WHERE id = ?1";

constexpr const char *k_enqueue = R"(
INSERT INTO deliveries (id, endpoint_id, event_type, events, body, created,
                        next_attempt)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
)";

#define DELIVERY_COLUMNS                                                       \
  "seq, id, endpoint_id, event_type, events, body, created, state, "           \
  "attempts, next_attempt"

// ?1 now; oldest due first, as the index deliveries_due has them, so that a
// claim reads only as far as it takes
constexpr const char *k_due = R"(
SELECT seq, endpoint_id FROM deliveries
WHERE state = 0 AND next_attempt <= ?1 AND (owner = '' OR lease_until <= ?1)
ORDER BY next_attempt, seq
)";

// ?1 owner, ?2 lease until, ?3 seq
constexpr const char *k_lease = R"(
UPDATE deliveries SET owner = ?1, lease_until = ?2 WHERE seq = ?3
RETURNING )" DELIVERY_COLUMNS;

// the attempt of a delivery removed meanwhile has nothing to be logged with
constexpr const char *k_log_attempt = R"(
INSERT INTO attempts (delivery_id, at, status, latency_ms, error, response)
SELECT ?1, ?2, ?3, ?4, ?5, ?6 WHERE EXISTS (SELECT 1 FROM deliveries WHERE id = ?1)
)";

constexpr const char *k_trim_attempts = R"(
DELETE FROM attempts WHERE delivery_id = ?1 AND seq <= (
  SELECT seq FROM attempts WHERE delivery_id = ?1
  ORDER BY seq DESC LIMIT 1 OFFSET ?2)
)";

// ?3 state, ?4 retry at
constexpr const char *k_finish = R"(
UPDATE deliveries SET state = ?3, attempts = attempts + 1,
  next_attempt = CASE WHEN ?3 = 0 THEN ?4 ELSE next_attempt END,
  owner = '', lease_until = 0
WHERE id = ?1 AND owner = ?2 AND owner <> ''
)";

// ?2 succeeded, ?3 attempt time; changes only at a turn of the streak
constexpr const char *k_failing_since = R"(
UPDATE endpoints SET failing_since = CASE WHEN ?2 THEN 0 ELSE ?3 END
WHERE id = ?1 AND CASE WHEN ?2 THEN failing_since <> 0 ELSE failing_since = 0 END
)";

constexpr const char *k_release_owner = R"(
UPDATE deliveries SET owner = '', lease_until = 0
WHERE owner = ?1 AND owner <> ''
)";

constexpr const char *k_deliveries =
    "SELECT " DELIVERY_COLUMNS " FROM deliveries WHERE endpoint_id = ?1 "
    "ORDER BY created DESC, seq DESC LIMIT ?2";

constexpr const char *k_delivery =
    "SELECT " DELIVERY_COLUMNS " FROM deliveries WHERE id = ?1";

constexpr const char *k_attempts = R"(
SELECT at, status, latency_ms, error, response FROM attempts
WHERE delivery_id = ?1 ORDER BY seq
)";

constexpr const char *k_redeliver = R"(
UPDATE deliveries SET state = 0, attempts = 0, next_attempt = ?2 WHERE id = ?1
)";

constexpr const char *k_recover = R"(
UPDATE deliveries SET state = 0, attempts = 0, next_attempt = ?4
WHERE endpoint_id = ?1 AND state = 2 AND created >= ?2 AND created < ?3
)";

constexpr const char *k_pending =
    "SELECT count(*) FROM deliveries WHERE state = 0";

constexpr const char *k_prune_attempts = R"(
DELETE FROM attempts WHERE delivery_id IN (
  SELECT id FROM deliveries WHERE state <> 0 AND created < ?1)
)";

constexpr const char *k_prune = R"(
DELETE FROM deliveries WHERE state <> 0 AND created < ?1
)";

#undef DELIVERY_COLUMNS

DeliveryState to_state(std::int64_t value) {
  switch (value) {
  case 1:
    return DeliveryState::succeeded;
  case 2:
    return DeliveryState::failed;
  default:
    return DeliveryState::pending;
  }
}

// the columns of DELIVERY_COLUMNS, seq left out
Delivery read_delivery(sqlite3_stmt *statement) {
  Delivery delivery;
  delivery.id = column_text(statement, 1);
  delivery.endpoint_id = column_text(statement, 2);
  delivery.event_type = column_text(statement, 3);
  delivery.events =
      static_cast<std::uint32_t>(sqlite3_column_int64(statement, 4));
  delivery.body = column_text(statement, 5);
  delivery.created = from_ms(sqlite3_column_int64(statement, 6));
  delivery.state = to_state(sqlite3_column_int64(statement, 7));
  delivery.attempts =
      static_cast<std::uint32_t>(sqlite3_column_int64(statement, 8));
  delivery.next_attempt = from_ms(sqlite3_column_int64(statement, 9));
  return delivery;
}

} // namespace

struct SqliteWebhookStore::Statements {
  using Statement = SqliteDatabase::Statement;
  Statement put_endpoint;
  Statement bump_version;
  Statement version;
  Statement endpoint;
  Statement endpoints;
  Statement remove_endpoint_attempts;
  Statement remove_endpoint_deliveries;
  Statement remove_endpoint;
  Statement enqueue;
  Statement due;
  Statement lease;
  Statement log_attempt;
  Statement trim_attempts;
  Statement finish;
  Statement failing_since;
  Statement release_owner;
  Statement deliveries;
  Statement delivery;
  Statement attempts;
  Statement redeliver;
  Statement recover;
  Statement pending;
  Statement prune_attempts;
  Statement prune;
};

SqliteWebhookStore::Result<std::unique_ptr<SqliteWebhookStore>>
SqliteWebhookStore::open(const std::string &directory) {
  auto database = SqliteDatabase::open(directory, "webhooks.db", k_schema,
                                       k_schema_version);
  if (!database)
    return tl::unexpected(database.error());
  std::unique_ptr<SqliteWebhookStore> store(
      new SqliteWebhookStore(std::move(*database)));
  auto &s = *store->m_statements;
  if (auto prepared = store->m_database->prepare({
          {&s.put_endpoint, k_put_endpoint},
          {&s.bump_version, k_bump_version},
          {&s.version, k_version},
          {&s.endpoint, k_endpoint},
          {&s.endpoints, k_endpoints},
          {&s.remove_endpoint_attempts, k_remove_endpoint_attempts},
          {&s.remove_endpoint_deliveries, k_remove_endpoint_deliveries},
          {&s.remove_endpoint, k_remove_endpoint},
          {&s.enqueue, k_enqueue},
          {&s.due, k_due},
          {&s.lease, k_lease},
          {&s.log_attempt, k_log_attempt},
          {&s.trim_attempts, k_trim_attempts},
          {&s.finish, k_finish},
          {&s.failing_since, k_failing_since},
          {&s.release_owner, k_release_owner},
          {&s.deliveries, k_deliveries},
          {&s.delivery, k_delivery},
          {&s.attempts, k_attempts},
          {&s.redeliver, k_redeliver},
          {&s.recover, k_recover},
          {&s.pending, k_pending},
          {&s.prune_attempts, k_prune_attempts},
          {&s.prune, k_prune},
      });
      !prepared)
    return tl::unexpected(prepared.error());
  return store;
}

SqliteWebhookStore::SqliteWebhookStore(
    std::unique_ptr<db::SqliteDatabase> database)
    : m_database(std::move(database)),
      m_statements(std::make_unique<Statements>()) {}

// the statements must be finalized before the database closes
SqliteWebhookStore::~SqliteWebhookStore() { m_statements.reset(); }

SqliteWebhookStore::Result<int>
SqliteWebhookStore::run(sqlite3_stmt *statement) {
  return m_database->run(statement);
}

SqliteWebhookStore::Result<void> SqliteWebhookStore::do_ping() {
  return m_database->execute("SELECT 1 FROM endpoints LIMIT 1");
}

SqliteWebhookStore::Result<void> SqliteWebhookStore::do_probe() {
  return m_database->write_probe();
}

SqliteWebhookStore::Result<bool>
SqliteWebhookStore::do_put_endpoint(const Endpoint &endpoint, bool replace) {
  const std::string data = encode_endpoint(endpoint);
  return m_database->transaction([&]() -> Result<bool> {
    auto *statement = m_statements->put_endpoint.get();
    bind_value(statement, 1, endpoint.id);
    bind_value(statement, 2, to_ms(endpoint.created));
    bind_value(statement, 3, to_ms(endpoint.failing_since));
    bind_value(statement, 4, data);
    bind_value(statement, 5, std::int64_t{replace});
    auto changed = run(statement);
    if (!changed)
      return tl::unexpected(changed.error());
    if (*changed == 0)
      return false;
    if (auto bumped = run(m_statements->bump_version.get()); !bumped)
      return tl::unexpected(bumped.error());
    return true;
  });
}

SqliteWebhookStore::Result<std::vector<Endpoint>>
SqliteWebhookStore::read_endpoints(sqlite3_stmt *statement) {
  const Reset reset(statement);
  std::vector<Endpoint> endpoints;
  int rc;
  while ((rc = sqlite3_step(statement)) == SQLITE_ROW) {
    auto endpoint = decode_endpoint(column_text(statement, 0));
    if (!endpoint)
      return db::corrupt(m_database->path() + ": " + endpoint.error());
    endpoint->failing_since = from_ms(sqlite3_column_int64(statement, 1));
    endpoints.push_back(std::move(*endpoint));
  }
  if (rc != SQLITE_DONE)
    return tl::unexpected(m_database->error("endpoints"));
  return endpoints;
}

SqliteWebhookStore::Result<std::optional<Endpoint>>
SqliteWebhookStore::do_endpoint(const std::string &id) {
  auto *statement = m_statements->endpoint.get();
  bind_value(statement, 1, id);
  auto endpoints = read_endpoints(statement);
  if (!endpoints)
    return tl::unexpected(endpoints.error());
  if (endpoints->empty())
    return std::nullopt;
  return std::move(endpoints->front());
}

SqliteWebhookStore::Result<std::vector<Endpoint>>
SqliteWebhookStore::do_endpoints() {
  return read_endpoints(m_statements->endpoints.get());
}

SqliteWebhookStore::Result<bool>
SqliteWebhookStore::do_remove_endpoint(const std::string &id) {
  return m_database->transaction([&]() -> Result<bool> {
    for (auto *statement : {m_statements->remove_endpoint_attempts.get(),
                            m_statements->remove_endpoint_deliveries.get()}) {
      bind_value(statement, 1, id);
      if (auto removed = run(statement); !removed)
        return tl::unexpected(removed.error());
    }
    auto *statement = m_statements->remove_endpoint.get();
    bind_value(statement, 1, id);
    auto removed = run(statement);
    if (!removed)
      return tl::unexpected(removed.error());
    if (*removed == 0)
      return false;
    if (auto bumped = run(m_statements->bump_version.get()); !bumped)
      return tl::unexpected(bumped.error());
    return true;
  });
}

SqliteWebhookStore::Result<std::uint64_t>
SqliteWebhookStore::do_endpoints_version() {
  auto *statement = m_statements->version.get();
  const Reset reset(statement);
  if (sqlite3_step(statement) != SQLITE_ROW)
    return tl::unexpected(m_database->error("endpoints_version"));
  return static_cast<std::uint64_t>(sqlite3_column_int64(statement, 0));
}

SqliteWebhookStore::Result<void>
SqliteWebhookStore::do_enqueue(const std::vector<Delivery> &deliveries) {
  return m_database->transaction([&]() -> Result<void> {
    auto *statement = m_statements->enqueue.get();
    for (const auto &delivery : deliveries) {
      bind_value(statement, 1, delivery.id);
      bind_value(statement, 2, delivery.endpoint_id);
      bind_value(statement, 3, delivery.event_type);
      bind_value(statement, 4, std::int64_t{delivery.events});
      bind_blob(statement, 5, delivery.body);
      bind_value(statement, 6, to_ms(delivery.created));
      bind_value(statement, 7, to_ms(delivery.next_attempt));
      if (auto done = run(statement); !done)
        return tl::unexpected(done.error());
    }
    return {};
  });
}

SqliteWebhookStore::Result<std::vector<Delivery>>
SqliteWebhookStore::do_claim(const std::string &owner, TimePoint now,
                             std::chrono::milliseconds lease, std::size_t max,
                             std::size_t per_endpoint) {
  if (max == 0) // no room: nothing to claim
    return std::vector<Delivery>{};
  return m_database->transaction([&]() -> Result<std::vector<Delivery>> {
    // the first per_endpoint due of each endpoint, the first max of those
    std::vector<std::int64_t> chosen;
    {
      auto *due = m_statements->due.get();
      const Reset reset(due);
      bind_value(due, 1, to_ms(now));
      std::unordered_map<std::string, std::size_t> taken;
      int rc = SQLITE_DONE;
      while (chosen.size() < max && (rc = sqlite3_step(due)) == SQLITE_ROW) {
        auto &count = taken[column_text(due, 1)];
        if (per_endpoint != 0 && count >= per_endpoint)
          continue;
        count++;
        chosen.push_back(sqlite3_column_int64(due, 0));
      }
      if (chosen.size() < max && rc != SQLITE_DONE)
        return tl::unexpected(m_database->error("claim"));
    }
    std::vector<Delivery> deliveries;
    deliveries.reserve(chosen.size());
    auto *lease_one = m_statements->lease.get();
    for (const auto seq : chosen) {
      const Reset reset(lease_one);
      bind_value(lease_one, 1, owner);
      bind_value(lease_one, 2, to_ms(now + lease));
      bind_value(lease_one, 3, seq);
      if (sqlite3_step(lease_one) != SQLITE_ROW)
        return tl::unexpected(m_database->error("claim"));
      deliveries.push_back(read_delivery(lease_one));
      if (sqlite3_step(lease_one) != SQLITE_DONE)
        return tl::unexpected(m_database->error("claim"));
    }
    return deliveries;
  });
}

SqliteWebhookStore::Result<bool>
SqliteWebhookStore::do_finish(const Delivery &delivery,
                              const std::string &owner, const Attempt &attempt,
                              const Outcome &outcome) {
  return m_database->transaction([&]() -> Result<bool> {
    Streaks streaks;
    return finish_one(delivery, owner, attempt, outcome, streaks);
  });
}

SqliteWebhookStore::Result<std::vector<bool>>
SqliteWebhookStore::do_finish_all(const std::vector<Finish> &finishes) {
  return m_database->transaction([&]() -> Result<std::vector<bool>> {
    std::vector<bool> held;
    held.reserve(finishes.size());
    Streaks streaks;
    for (const auto &one : finishes) {
      auto finished = finish_one(one.delivery, one.owner, one.attempt,
                                 one.outcome, streaks);
      if (!finished)
        return tl::unexpected(finished.error());
      held.push_back(*finished);
    }
    return held;
  });
}

SqliteWebhookStore::Result<bool>
SqliteWebhookStore::finish_one(const Delivery &delivery,
                               const std::string &owner, const Attempt &attempt,
                               const Outcome &outcome, Streaks &streaks) {
  auto *log = m_statements->log_attempt.get();
  bind_value(log, 1, delivery.id);
  bind_value(log, 2, to_ms(attempt.at));
  bind_value(log, 3, std::int64_t{attempt.status});
  bind_value(log, 4, static_cast<std::int64_t>(attempt.latency.count()));
  bind_value(log, 5, attempt.error);
  bind_blob(log, 6, attempt.response);
  auto logged = run(log);
  if (!logged)
    return tl::unexpected(logged.error());
  if (*logged == 0)
    return false; // the delivery is gone
  auto *trim = m_statements->trim_attempts.get();
  bind_value(trim, 1, delivery.id);
  bind_value(trim, 2, static_cast<std::int64_t>(k_attempts_kept));
  if (auto trimmed = run(trim); !trimmed)
    return tl::unexpected(trimmed.error());

  const bool succeeded = outcome.state == DeliveryState::succeeded;
  const auto streak = streaks.find(delivery.endpoint_id);
  if (streak == streaks.end() || streak->second != succeeded) {
    auto *failing = m_statements->failing_since.get();
    bind_value(failing, 1, delivery.endpoint_id);
    bind_value(failing, 2, std::int64_t{succeeded});
    bind_value(failing, 3, to_ms(attempt.at));
    auto turned = run(failing);
    if (!turned)
      return tl::unexpected(turned.error());
    if (*turned > 0) {
      if (auto bumped = run(m_statements->bump_version.get()); !bumped)
        return tl::unexpected(bumped.error());
    }
    streaks[delivery.endpoint_id] = succeeded;
  }

  auto *finish = m_statements->finish.get();
  bind_value(finish, 1, delivery.id);
  bind_value(finish, 2, owner);
  bind_value(finish, 3, static_cast<std::int64_t>(outcome.state));
  bind_value(finish, 4, to_ms(outcome.retry_at));
  auto finished = run(finish);
  if (!finished)
    return tl::unexpected(finished.error());
  return *finished > 0;
}

SqliteWebhookStore::Result<std::size_t>
SqliteWebhookStore::do_release_owner(const std::string &owner) {
  auto *statement = m_statements->release_owner.get();
  bind_value(statement, 1, owner);
  auto changed = run(statement);
  if (!changed)
    return tl::unexpected(changed.error());
  return static_cast<std::size_t>(*changed);
}

SqliteWebhookStore::Result<std::vector<DeliveryRecord>>
SqliteWebhookStore::read_records(sqlite3_stmt *statement) {
  std::vector<DeliveryRecord> records;
  {
    const Reset reset(statement);
    int rc;
    while ((rc = sqlite3_step(statement)) == SQLITE_ROW)
      records.push_back(DeliveryRecord{read_delivery(statement), {}});
    if (rc != SQLITE_DONE)
      return tl::unexpected(m_database->error("deliveries"));
  }
  auto *attempts = m_statements->attempts.get();
  for (auto &record : records) {
    const Reset reset(attempts);
    bind_value(attempts, 1, record.delivery.id);
    int rc;
    while ((rc = sqlite3_step(attempts)) == SQLITE_ROW) {
      Attempt attempt;
      attempt.delivery_id = record.delivery.id;
      attempt.at = from_ms(sqlite3_column_int64(attempts, 0));
      attempt.status = sqlite3_column_int(attempts, 1);
      attempt.latency =
          std::chrono::milliseconds(sqlite3_column_int64(attempts, 2));
      attempt.error = column_text(attempts, 3);
      attempt.response = column_text(attempts, 4);
      record.attempts.push_back(std::move(attempt));
    }
    if (rc != SQLITE_DONE)
      return tl::unexpected(m_database->error("attempts"));
  }
  return records;
}

SqliteWebhookStore::Result<std::vector<DeliveryRecord>>
SqliteWebhookStore::do_deliveries(const std::string &endpoint_id,
                                  std::size_t limit) {
  auto *statement = m_statements->deliveries.get();
  bind_value(statement, 1, endpoint_id);
  bind_value(statement, 2, static_cast<std::int64_t>(limit));
  return read_records(statement);
}

SqliteWebhookStore::Result<std::optional<DeliveryRecord>>
SqliteWebhookStore::do_delivery(const std::string &id) {
  auto *statement = m_statements->delivery.get();
  bind_value(statement, 1, id);
  auto records = read_records(statement);
  if (!records)
    return tl::unexpected(records.error());
  if (records->empty())
    return std::nullopt;
  return std::move(records->front());
}

SqliteWebhookStore::Result<bool>
SqliteWebhookStore::do_redeliver(const std::string &id, TimePoint now) {
  auto *statement = m_statements->redeliver.get();
  bind_value(statement, 1, id);
  bind_value(statement, 2, to_ms(now));
  auto changed = run(statement);
  if (!changed)
    return tl::unexpected(changed.error());
  return *changed > 0;
}

SqliteWebhookStore::Result<std::size_t>
SqliteWebhookStore::do_recover(const std::string &endpoint_id, TimePoint since,
                               TimePoint until, TimePoint now) {
  auto *statement = m_statements->recover.get();
  bind_value(statement, 1, endpoint_id);
  bind_value(statement, 2, to_ms(since));
  bind_value(statement, 3, to_ms(until));
  bind_value(statement, 4, to_ms(now));
  auto changed = run(statement);
  if (!changed)
    return tl::unexpected(changed.error());
  return static_cast<std::size_t>(*changed);
}

SqliteWebhookStore::Result<std::uint64_t> SqliteWebhookStore::do_pending() {
  auto *statement = m_statements->pending.get();
  const Reset reset(statement);
  if (sqlite3_step(statement) != SQLITE_ROW)
    return tl::unexpected(m_database->error("pending"));
  return static_cast<std::uint64_t>(sqlite3_column_int64(statement, 0));
}

// all at once: one transaction, however many
SqliteWebhookStore::Result<std::size_t>
SqliteWebhookStore::do_prune(TimePoint before, std::size_t) {
  return m_database->transaction([&]() -> Result<std::size_t> {
    auto *attempts = m_statements->prune_attempts.get();
    bind_value(attempts, 1, to_ms(before));
    if (auto pruned = run(attempts); !pruned)
      return tl::unexpected(pruned.error());
    auto *statement = m_statements->prune.get();
    bind_value(statement, 1, to_ms(before));
    auto pruned = run(statement);
    if (!pruned)
      return tl::unexpected(pruned.error());
    return static_cast<std::size_t>(*pruned);
  });
}

} // namespace dovewarden::webhook
