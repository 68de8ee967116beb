#include "audit/SqliteAuditStore.hpp"

#include "audit/Migrations.hpp"
#include "audit/RecordSql.hpp"
#include "util/PrivateFiles.hpp"
#include "util/Strings.hpp"

#include <filesystem>
#include <utility>
#include <variant>

namespace dovewarden::audit {

namespace {

using db::SqliteDatabase;
using Reset = SqliteDatabase::Reset;
using db::sqlite::bind_value;
using db::sqlite::column_text;

constexpr const char *k_add_chain =
    "INSERT INTO audit_chains (name) VALUES (?1) ON CONFLICT (name) DO NOTHING";

constexpr const char *k_chain_id =
    "SELECT id FROM audit_chains WHERE name = ?1";

constexpr const char *k_head = R"(
SELECT seq, hash FROM audit_records WHERE chain = ?1 ORDER BY seq DESC LIMIT 1
)";

constexpr const char *k_recorded = R"(
SELECT 1 FROM audit_records WHERE chain = ?1 AND inst = ?2 AND event_seq = ?3
  AND inst <> ''
)";

constexpr const char *k_insert = R"(
INSERT INTO audit_records (chain, seq, time, operation, "user", actor, ip,
  port, session, service, mailbox, mailbox_guid, uid, uidvalidity, msgid,
  outcome, details, inst, event_seq, prev_hash, hash)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16,
  ?17, ?18, ?19, ?20, ?21)
)";

constexpr const char *k_mark = R"(
INSERT INTO audit_instances (chain, inst, last_seq, pid, service, "user", seen)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
ON CONFLICT (chain, inst) DO UPDATE SET last_seq = excluded.last_seq,
  pid = excluded.pid, service = excluded.service, "user" = excluded."user",
  seen = excluded.seen
)";

constexpr const char *k_instances = R"(
SELECT inst, last_seq, pid, service, "user", seen FROM audit_instances
WHERE chain = ?1 AND seen >= ?2 ORDER BY seen, inst
)";

constexpr const char *k_add_checkpoint = R"(
INSERT INTO audit_checkpoints (chain, size, hash, time, note)
VALUES (?1, ?2, ?3, ?4, ?5)
)";

constexpr const char *k_checkpoints = R"(
SELECT size, hash, time, note FROM audit_checkpoints
WHERE chain = ?1 AND size > ?2 ORDER BY size LIMIT ?3
)";

constexpr const char *k_latest_checkpoint = R"(
SELECT size, hash, time, note FROM audit_checkpoints
WHERE chain = ?1 ORDER BY size DESC LIMIT 1
)";

// +time keeps the time index out: the primary key's order stops at the
// first younger record, after reading only what retention removes
constexpr const char *k_end_of_prefix_before = R"(
SELECT coalesce(
  (SELECT seq - 1 FROM audit_records WHERE chain = ?1 AND +time >= ?2
   ORDER BY seq LIMIT 1),
  (SELECT max(seq) FROM audit_records WHERE chain = ?1), 0)
)";

constexpr const char *k_base =
    "SELECT size, hash, time, note FROM audit_base WHERE chain = ?1";

constexpr const char *k_set_base = R"(
INSERT INTO audit_base (chain, size, hash, time, note)
VALUES (?1, ?2, ?3, ?4, ?5)
ON CONFLICT (chain) DO UPDATE SET size = excluded.size, hash = excluded.hash,
  time = excluded.time, note = excluded.note
)";

// ?3 step: the oldest first, as the primary key has them
constexpr const char *k_remove = R"(
DELETE FROM audit_records WHERE chain = ?1 AND seq IN (
  SELECT seq FROM audit_records WHERE chain = ?1 AND seq <= ?2
  ORDER BY seq LIMIT ?3)
)";

std::int64_t signed_of(std::uint64_t value) {
  return static_cast<std::int64_t>(value);
}

std::uint64_t unsigned_column(sqlite3_stmt *statement, int column) {
  return static_cast<std::uint64_t>(sqlite3_column_int64(statement, column));
}

std::uint32_t u32_column(sqlite3_stmt *statement, int column) {
  return static_cast<std::uint32_t>(sqlite3_column_int64(statement, column));
}

// the columns of k_record_columns
Record read_record(sqlite3_stmt *statement) {
  Record record;
  record.seq = unsigned_column(statement, 0);
  record.time = sqlite3_column_int64(statement, 1);
  record.operation = column_text(statement, 2);
  record.user = column_text(statement, 3);
  record.actor = column_text(statement, 4);
  record.ip = column_text(statement, 5);
  record.port = u32_column(statement, 6);
  record.session = column_text(statement, 7);
  record.service = column_text(statement, 8);
  record.mailbox = column_text(statement, 9);
  record.mailbox_guid = column_text(statement, 10);
  record.uid = u32_column(statement, 11);
  record.uidvalidity = u32_column(statement, 12);
  record.msgid = column_text(statement, 13);
  record.outcome = column_text(statement, 14);
  record.details = column_text(statement, 15);
  record.inst = column_text(statement, 16);
  record.event_seq = unsigned_column(statement, 17);
  record.prev_hash = column_text(statement, 18);
  record.hash = column_text(statement, 19);
  return record;
}

void bind_checkpoint(sqlite3_stmt *statement, std::int64_t chain_id,
                     const Checkpoint &checkpoint) {
  bind_value(statement, 1, chain_id);
  bind_value(statement, 2, signed_of(checkpoint.size));
  bind_value(statement, 3, checkpoint.hash);
  bind_value(statement, 4, checkpoint.time);
  bind_value(statement, 5, checkpoint.note);
}

// migrate() on the store's file
class SqliteMigrationTarget final : public MigrationTarget {
public:
  explicit SqliteMigrationTarget(SqliteDatabase &database)
      : m_database(database) {}

  std::string describe() const override { return m_database.path(); }
  db::Result<void> begin() override { return m_database.begin(); }
  db::Result<void> execute(const std::string &sql) override {
    return m_database.execute(sql.c_str());
  }
  db::Result<int> applied_version() override {
    sqlite3_stmt *raw = nullptr;
    if (sqlite3_prepare_v2(
            m_database.handle(),
            "SELECT coalesce(max(version), 0) FROM audit_schema_migrations", -1,
            &raw, nullptr) != SQLITE_OK)
      return tl::unexpected(m_database.error("SELECT"));
    const SqliteDatabase::Statement statement(raw);
    if (sqlite3_step(raw) != SQLITE_ROW)
      return tl::unexpected(m_database.error("SELECT"));
    return sqlite3_column_int(raw, 0);
  }
  db::Result<void> commit() override { return m_database.commit(); }
  void rollback() override { m_database.rollback(); }

private:
  SqliteDatabase &m_database;
};

// The page size of a new file. Each record adds a key to seven indexes, two
// of them (user, ip) in no order, and each page a batch changes is written
// whole to the WAL: larger pages, fewer pages, fewer levels. 16 KiB took
// ~20% less CPU per record than 4 KiB at the default batch, on a new file
// and on one of a million records (docs/benchmarks.md).
constexpr const char *k_page_size = "PRAGMA page_size = 16384";

// Gives a new database file (missing or empty) the page size, which its
// first write fixes and WAL mode, which SqliteDatabase sets, cannot change.
db::Result<void> create_with_page_size(const std::string &directory) {
  const std::string path = directory + "/" + SqliteAuditStore::k_file;
  std::error_code missing;
  if (const auto size = std::filesystem::file_size(path, missing);
      !missing && size > 0)
    return {};
  if (auto made = util::make_private_directory(directory); !made)
    return db::unavailable(made.error());
  if (auto made = util::make_private_file(path); !made)
    return db::unavailable(made.error());
  sqlite3 *raw = nullptr;
  const int rc = sqlite3_open_v2(
      path.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr);
  const std::unique_ptr<sqlite3, decltype(&sqlite3_close)> database(
      raw, sqlite3_close);
  const std::string create =
      std::string(k_page_size) + "; PRAGMA journal_mode = WAL";
  if (rc != SQLITE_OK ||
      sqlite3_exec(raw, create.c_str(), nullptr, nullptr, nullptr) != SQLITE_OK)
    return db::unavailable(
        "cannot create " + util::quote(path) + ": " +
        (raw != nullptr ? sqlite3_errmsg(raw) : sqlite3_errstr(rc)));
  return {};
}

// Returns the id of chain, added if it is new.
db::Result<std::int64_t> find_chain(SqliteDatabase &database,
                                    const std::string &chain) {
  SqliteDatabase::Statement add, find;
  if (auto prepared =
          database.prepare({{&add, k_add_chain}, {&find, k_chain_id}});
      !prepared)
    return tl::unexpected(prepared.error());
  bind_value(add.get(), 1, chain);
  if (auto added = database.run(add.get()); !added)
    return tl::unexpected(added.error());
  const Reset reset(find.get());
  bind_value(find.get(), 1, chain);
  if (sqlite3_step(find.get()) != SQLITE_ROW)
    return tl::unexpected(database.error("SELECT"));
  return sqlite3_column_int64(find.get(), 0);
}

} // namespace

struct SqliteAuditStore::Statements {
  using Statement = SqliteDatabase::Statement;
  Statement head;
  Statement recorded;
  Statement insert;
  Statement mark;
  Statement instances;
  Statement add_checkpoint;
  Statement checkpoints;
  Statement latest_checkpoint;
  Statement record;
  Statement end_of_prefix_before;
  Statement base;
  Statement set_base;
  Statement remove;
};

SqliteAuditStore::Result<std::unique_ptr<SqliteAuditStore>>
SqliteAuditStore::open(const std::string &directory, std::string chain) {
  if (auto created = create_with_page_size(directory); !created)
    return tl::unexpected(created.error());
  // the schema is the migrations', not SqliteDatabase's user_version
  auto database = SqliteDatabase::open(directory, k_file, "", 0);
  if (!database)
    return tl::unexpected(database.error());
  SqliteMigrationTarget target(**database);
  if (auto migrated = migrate(target, migrations(SqlDialect::sqlite));
      !migrated)
    return tl::unexpected(migrated.error());
  auto chain_id = find_chain(**database, chain);
  if (!chain_id)
    return tl::unexpected(chain_id.error());
  std::unique_ptr<SqliteAuditStore> store(
      new SqliteAuditStore(std::move(chain), *chain_id, std::move(*database)));
  const std::string select_record =
      std::string("SELECT ") + k_record_columns +
      " FROM audit_records WHERE chain = ?1 AND seq = ?2";
  auto &s = *store->m_statements;
  if (auto prepared = store->m_database->prepare({
          {&s.head, k_head},
          {&s.recorded, k_recorded},
          {&s.insert, k_insert},
          {&s.mark, k_mark},
          {&s.instances, k_instances},
          {&s.add_checkpoint, k_add_checkpoint},
          {&s.checkpoints, k_checkpoints},
          {&s.latest_checkpoint, k_latest_checkpoint},
          {&s.record, select_record.c_str()},
          {&s.end_of_prefix_before, k_end_of_prefix_before},
          {&s.base, k_base},
          {&s.set_base, k_set_base},
          {&s.remove, k_remove},
      });
      !prepared)
    return tl::unexpected(prepared.error());
  return store;
}

SqliteAuditStore::SqliteAuditStore(std::string chain, std::int64_t chain_id,
                                   std::unique_ptr<SqliteDatabase> database)
    : AuditStore(std::move(chain)), m_chain_id(chain_id),
      m_database(std::move(database)),
      m_statements(std::make_unique<Statements>()) {}

// the statements must be finalized before the database closes
SqliteAuditStore::~SqliteAuditStore() { m_statements.reset(); }

SqliteAuditStore::Result<std::vector<Record>>
SqliteAuditStore::read_records(sqlite3_stmt *statement) {
  const Reset reset(statement);
  std::vector<Record> records;
  int rc;
  while ((rc = sqlite3_step(statement)) == SQLITE_ROW)
    records.push_back(read_record(statement));
  if (rc != SQLITE_DONE)
    return tl::unexpected(m_database->error("SELECT"));
  return records;
}

SqliteAuditStore::Result<std::vector<Checkpoint>>
SqliteAuditStore::read_checkpoints(sqlite3_stmt *statement) {
  const Reset reset(statement);
  std::vector<Checkpoint> checkpoints;
  int rc;
  while ((rc = sqlite3_step(statement)) == SQLITE_ROW) {
    Checkpoint checkpoint;
    checkpoint.origin = chain();
    checkpoint.size = unsigned_column(statement, 0);
    checkpoint.hash = column_text(statement, 1);
    checkpoint.time = sqlite3_column_int64(statement, 2);
    checkpoint.note = column_text(statement, 3);
    checkpoints.push_back(std::move(checkpoint));
  }
  if (rc != SQLITE_DONE)
    return tl::unexpected(m_database->error("SELECT"));
  return checkpoints;
}

SqliteAuditStore::Result<Head> SqliteAuditStore::do_head() {
  auto *statement = m_statements->head.get();
  std::optional<Head> last;
  {
    const Reset reset(statement);
    bind_value(statement, 1, m_chain_id);
    const int rc = sqlite3_step(statement);
    if (rc == SQLITE_ROW)
      last = Head{unsigned_column(statement, 0), column_text(statement, 1)};
    else if (rc != SQLITE_DONE)
      return tl::unexpected(m_database->error("SELECT"));
  }
  auto base = do_base();
  if (!base)
    return tl::unexpected(base.error());
  return head_of(std::move(last), *base);
}

SqliteAuditStore::Result<std::vector<bool>>
SqliteAuditStore::do_recorded(const std::vector<EventKey> &keys) {
  auto *statement = m_statements->recorded.get();
  std::vector<bool> found;
  found.reserve(keys.size());
  for (const auto &key : keys) {
    const Reset reset(statement);
    bind_value(statement, 1, m_chain_id);
    bind_value(statement, 2, key.inst);
    bind_value(statement, 3, signed_of(key.event_seq));
    const int rc = sqlite3_step(statement);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
      return tl::unexpected(m_database->error("SELECT"));
    found.push_back(rc == SQLITE_ROW);
  }
  return found;
}

SqliteAuditStore::Result<void>
SqliteAuditStore::do_append(const std::vector<Record> &records,
                            const std::vector<InstanceMark> &marks) {
  return m_database->transaction([&]() -> Result<void> {
    auto *insert = m_statements->insert.get();
    for (const auto &record : records) {
      bind_value(insert, 1, m_chain_id);
      bind_value(insert, 2, signed_of(record.seq));
      bind_value(insert, 3, record.time);
      bind_value(insert, 4, record.operation);
      bind_value(insert, 5, record.user);
      bind_value(insert, 6, record.actor);
      bind_value(insert, 7, record.ip);
      bind_value(insert, 8, std::int64_t{record.port});
      bind_value(insert, 9, record.session);
      bind_value(insert, 10, record.service);
      bind_value(insert, 11, record.mailbox);
      bind_value(insert, 12, record.mailbox_guid);
      bind_value(insert, 13, std::int64_t{record.uid});
      bind_value(insert, 14, std::int64_t{record.uidvalidity});
      bind_value(insert, 15, record.msgid);
      bind_value(insert, 16, record.outcome);
      bind_value(insert, 17, record.details);
      bind_value(insert, 18, record.inst);
      bind_value(insert, 19, signed_of(record.event_seq));
      bind_value(insert, 20, record.prev_hash);
      bind_value(insert, 21, record.hash);
      if (auto done = m_database->run(insert); !done)
        return tl::unexpected(done.error());
    }
    auto *mark = m_statements->mark.get();
    for (const auto &instance : marks) {
      bind_value(mark, 1, m_chain_id);
      bind_value(mark, 2, instance.inst);
      bind_value(mark, 3, signed_of(instance.last_seq));
      bind_value(mark, 4, instance.pid);
      bind_value(mark, 5, instance.service);
      bind_value(mark, 6, instance.user);
      bind_value(mark, 7, instance.seen);
      if (auto done = m_database->run(mark); !done)
        return tl::unexpected(done.error());
    }
    return {};
  });
}

SqliteAuditStore::Result<std::vector<InstanceMark>>
SqliteAuditStore::do_instances(std::int64_t seen_since) {
  auto *statement = m_statements->instances.get();
  const Reset reset(statement);
  bind_value(statement, 1, m_chain_id);
  bind_value(statement, 2, seen_since);
  std::vector<InstanceMark> marks;
  int rc;
  while ((rc = sqlite3_step(statement)) == SQLITE_ROW) {
    InstanceMark mark;
    mark.inst = column_text(statement, 0);
    mark.last_seq = unsigned_column(statement, 1);
    mark.pid = sqlite3_column_int64(statement, 2);
    mark.service = column_text(statement, 3);
    mark.user = column_text(statement, 4);
    mark.seen = sqlite3_column_int64(statement, 5);
    marks.push_back(std::move(mark));
  }
  if (rc != SQLITE_DONE)
    return tl::unexpected(m_database->error("SELECT"));
  return marks;
}

SqliteAuditStore::Result<void>
SqliteAuditStore::do_add_checkpoint(const Checkpoint &checkpoint) {
  auto *statement = m_statements->add_checkpoint.get();
  bind_checkpoint(statement, m_chain_id, checkpoint);
  auto done = m_database->run(statement);
  if (!done)
    return tl::unexpected(done.error());
  return {};
}

SqliteAuditStore::Result<std::vector<Checkpoint>>
SqliteAuditStore::do_checkpoints(std::uint64_t after_size, std::size_t limit) {
  auto *statement = m_statements->checkpoints.get();
  bind_value(statement, 1, m_chain_id);
  bind_value(statement, 2, signed_of(after_size));
  bind_value(statement, 3, signed_of(limit));
  return read_checkpoints(statement);
}

SqliteAuditStore::Result<std::optional<Checkpoint>>
SqliteAuditStore::do_latest_checkpoint() {
  auto *statement = m_statements->latest_checkpoint.get();
  bind_value(statement, 1, m_chain_id);
  return first_of(read_checkpoints(statement));
}

SqliteAuditStore::Result<std::optional<Record>>
SqliteAuditStore::do_record(std::uint64_t seq) {
  auto *statement = m_statements->record.get();
  bind_value(statement, 1, m_chain_id);
  bind_value(statement, 2, signed_of(seq));
  return first_of(read_records(statement));
}

SqliteAuditStore::Result<std::vector<Record>>
SqliteAuditStore::do_query(const Query &query) {
  const auto select = select_records(SqlDialect::sqlite, m_chain_id, query);
  sqlite3_stmt *raw = nullptr;
  if (sqlite3_prepare_v2(m_database->handle(), select.sql.c_str(), -1, &raw,
                         nullptr) != SQLITE_OK)
    return tl::unexpected(m_database->error("SELECT"));
  const SqliteDatabase::Statement statement(raw);
  int index = 0;
  for (const auto &parameter : select.parameters) {
    ++index;
    std::visit([&](const auto &value) { bind_value(raw, index, value); },
               parameter);
  }
  return read_records(raw);
}

SqliteAuditStore::Result<std::uint64_t>
SqliteAuditStore::do_end_of_prefix_before(std::int64_t time) {
  auto *statement = m_statements->end_of_prefix_before.get();
  const Reset reset(statement);
  bind_value(statement, 1, m_chain_id);
  bind_value(statement, 2, time);
  if (sqlite3_step(statement) != SQLITE_ROW)
    return tl::unexpected(m_database->error("SELECT"));
  return unsigned_column(statement, 0);
}

SqliteAuditStore::Result<std::optional<Checkpoint>>
SqliteAuditStore::do_base() {
  auto *statement = m_statements->base.get();
  bind_value(statement, 1, m_chain_id);
  return first_of(read_checkpoints(statement));
}

SqliteAuditStore::Result<std::uint64_t>
SqliteAuditStore::do_remove_through(const Checkpoint &base, std::size_t step) {
  auto current = do_base();
  if (!current)
    return tl::unexpected(current.error());
  if (*current && (*current)->size > base.size)
    return db::invalid("remove_through: a base behind the current one");
  auto set = m_database->transaction([&]() -> Result<int> {
    auto *statement = m_statements->set_base.get();
    bind_checkpoint(statement, m_chain_id, base);
    return m_database->run(statement);
  });
  if (!set)
    return tl::unexpected(set.error());
  std::uint64_t removed = 0;
  for (;;) {
    auto done = m_database->transaction([&]() -> Result<int> {
      auto *statement = m_statements->remove.get();
      bind_value(statement, 1, m_chain_id);
      bind_value(statement, 2, signed_of(base.size));
      bind_value(statement, 3, signed_of(step));
      return m_database->run(statement);
    });
    if (!done)
      return tl::unexpected(done.error());
    removed += static_cast<std::uint64_t>(*done);
    if (static_cast<std::size_t>(*done) < step)
      return removed;
  }
}

SqliteAuditStore::Result<void> SqliteAuditStore::do_write_probe() {
  return m_database->write_probe();
}

} // namespace dovewarden::audit
