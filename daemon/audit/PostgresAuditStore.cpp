#include "audit/PostgresAuditStore.hpp"

#include "audit/Migrations.hpp"
#include "audit/RecordSql.hpp"

#include <string_view>
#include <unordered_map>
#include <utility>
#include <variant>

namespace dovewarden::audit {

namespace {

using Rows = db::PostgresConnection::Rows;

// every migrating daemon takes this lock: one at a time
constexpr const char *k_migration_lock =
    "BEGIN; SELECT pg_advisory_xact_lock(7380451202871461478)";

// the id of a chain, added if it is new
constexpr const char *k_chain_id = R"(
WITH added AS (
  INSERT INTO audit_chains (name) VALUES ($1) ON CONFLICT (name) DO NOTHING
  RETURNING id
)
SELECT id FROM added UNION ALL SELECT id FROM audit_chains WHERE name = $1
)";

constexpr const char *k_head = R"(
SELECT seq, hash FROM audit_records WHERE chain = $1 ORDER BY seq DESC LIMIT 1
)";

constexpr const char *k_recorded = R"(
SELECT k.i FROM unnest($2::text[], $3::bigint[]) WITH ORDINALITY
  AS k(inst, event_seq, i)
WHERE EXISTS (SELECT 1 FROM audit_records r WHERE r.chain = $1
  AND r.inst = k.inst AND r.event_seq = k.event_seq AND r.inst <> '')
)";

// the records by COPY, the fastest way in (docs/benchmarks.md), in a
// transaction that the marks then join
constexpr const char *k_copy_records = R"(
BEGIN;
COPY audit_records (chain, seq, time, operation, "user", actor, ip, port,
  session, service, mailbox, mailbox_guid, uid, uidvalidity, msgid, outcome,
  details, inst, event_seq, prev_hash, hash) FROM STDIN
)";

// each column's values one array
constexpr const char *k_marks = R"(
INSERT INTO audit_instances (chain, inst, last_seq, pid, service, "user", seen)
SELECT $1, * FROM unnest($2::text[], $3::bigint[], $4::bigint[], $5::text[],
  $6::text[], $7::bigint[])
ON CONFLICT (chain, inst) DO UPDATE SET last_seq = excluded.last_seq,
  pid = excluded.pid, service = excluded.service, "user" = excluded."user",
  seen = excluded.seen
)";

constexpr const char *k_instances = R"(
SELECT inst, last_seq, pid, service, "user", seen FROM audit_instances
WHERE chain = $1 AND seen >= $2 ORDER BY seen, inst
)";

constexpr const char *k_add_checkpoint = R"(
INSERT INTO audit_checkpoints (chain, size, hash, time, note)
VALUES ($1, $2, $3, $4, $5)
)";

constexpr const char *k_checkpoints = R"(
SELECT size, hash, time, note FROM audit_checkpoints
WHERE chain = $1 AND size > $2 ORDER BY size LIMIT $3
)";

constexpr const char *k_latest_checkpoint = R"(
SELECT size, hash, time, note FROM audit_checkpoints
WHERE chain = $1 ORDER BY size DESC LIMIT 1
)";

constexpr const char *k_end_of_prefix_before = R"(
SELECT coalesce(
  (SELECT seq - 1 FROM audit_records WHERE chain = $1 AND time >= $2
   ORDER BY seq LIMIT 1),
  (SELECT max(seq) FROM audit_records WHERE chain = $1), 0)
)";

constexpr const char *k_base =
    "SELECT size, hash, time, note FROM audit_base WHERE chain = $1";

// a base never moves back
constexpr const char *k_set_base = R"(
INSERT INTO audit_base (chain, size, hash, time, note)
VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (chain) DO UPDATE SET size = excluded.size, hash = excluded.hash,
  time = excluded.time, note = excluded.note
WHERE audit_base.size <= excluded.size
)";

// $3 step: the oldest first, as the primary key has them
constexpr const char *k_remove = R"(
DELETE FROM audit_records WHERE chain = $1 AND seq IN (
  SELECT seq FROM audit_records WHERE chain = $1 AND seq <= $2
  ORDER BY seq LIMIT $3)
)";

constexpr const char *k_write_probe = R"(
UPDATE audit_schema_migrations SET applied = applied
WHERE version = (SELECT max(version) FROM audit_schema_migrations)
)";

// PostgreSQL's text form of an array, one value at a time
class ArrayText {
public:
  void add(std::string_view text) {
    open();
    m_text += '"';
    for (const char c : text) {
      if (c == '"' || c == '\\')
        m_text += '\\';
      m_text += c;
    }
    m_text += '"';
  }
  void add(std::int64_t number) {
    open();
    m_text += std::to_string(number);
  }
  std::string take() {
    if (m_text.empty())
      m_text = "{";
    m_text += '}';
    return std::move(m_text);
  }

private:
  void open() { m_text += m_text.empty() ? '{' : ','; }

  std::string m_text;
};

std::string number(std::uint64_t value) { return std::to_string(value); }

std::int64_t signed_of(std::uint64_t value) {
  return static_cast<std::int64_t>(value);
}

std::uint64_t unsigned_of(const Rows &rows, int row, int column) {
  return static_cast<std::uint64_t>(rows.number(row, column));
}

std::uint32_t u32_of(const Rows &rows, int row, int column) {
  return static_cast<std::uint32_t>(rows.number(row, column));
}

// the columns of k_record_columns
Record read_record(const Rows &rows, int row) {
  Record record;
  record.seq = unsigned_of(rows, row, 0);
  record.time = rows.number(row, 1);
  record.operation = rows.text(row, 2);
  record.user = rows.text(row, 3);
  record.actor = rows.text(row, 4);
  record.ip = rows.text(row, 5);
  record.port = u32_of(rows, row, 6);
  record.session = rows.text(row, 7);
  record.service = rows.text(row, 8);
  record.mailbox = rows.text(row, 9);
  record.mailbox_guid = rows.text(row, 10);
  record.uid = u32_of(rows, row, 11);
  record.uidvalidity = u32_of(rows, row, 12);
  record.msgid = rows.text(row, 13);
  record.outcome = rows.text(row, 14);
  record.details = rows.text(row, 15);
  record.inst = rows.text(row, 16);
  record.event_seq = unsigned_of(rows, row, 17);
  record.prev_hash = rows.text(row, 18);
  record.hash = rows.text(row, 19);
  return record;
}

std::vector<std::string> checkpoint_parameters(const std::string &chain_id,
                                               const Checkpoint &checkpoint) {
  return {chain_id, number(checkpoint.size), checkpoint.hash,
          std::to_string(checkpoint.time), checkpoint.note};
}

// migrate() on the database, behind its advisory lock
class PostgresMigrationTarget final : public MigrationTarget {
public:
  explicit PostgresMigrationTarget(db::PostgresConnection &connection)
      : m_connection(connection) {}

  std::string describe() const override { return m_connection.describe(); }
  db::Result<void> begin() override {
    return m_connection.execute_script(k_migration_lock);
  }
  db::Result<void> execute(const std::string &sql) override {
    return m_connection.execute_script(sql);
  }
  db::Result<int> applied_version() override {
    auto rows = m_connection.execute(
        "SELECT coalesce(max(version), 0) FROM audit_schema_migrations");
    if (!rows)
      return tl::unexpected(rows.error());
    return static_cast<int>(rows->number(0, 0));
  }
  db::Result<void> commit() override {
    return m_connection.execute_script("COMMIT");
  }
  void rollback() override { m_connection.execute_script("ROLLBACK"); }

private:
  db::PostgresConnection &m_connection;
};

} // namespace

PostgresAuditStore::Result<std::unique_ptr<PostgresAuditStore>>
PostgresAuditStore::open(Options options, std::string chain) {
  auto connection = db::PostgresConnection::connect(std::move(options));
  if (!connection)
    return tl::unexpected(connection.error());
  PostgresMigrationTarget target(**connection);
  if (auto migrated = migrate(target, migrations(SqlDialect::postgres));
      !migrated)
    return tl::unexpected(migrated.error());
  auto id = (*connection)->execute(k_chain_id, {chain});
  if (!id)
    return tl::unexpected(id.error());
  if (id->size() != 1)
    return db::corrupt((*connection)->describe() + ": no id for the chain");
  return std::unique_ptr<PostgresAuditStore>(new PostgresAuditStore(
      std::move(chain), id->text(0, 0), std::move(*connection)));
}

PostgresAuditStore::PostgresAuditStore(
    std::string chain, std::string chain_id,
    std::unique_ptr<db::PostgresConnection> connection)
    : AuditStore(std::move(chain)), m_chain_id(std::move(chain_id)),
      m_connection(std::move(connection)) {}

PostgresAuditStore::~PostgresAuditStore() = default;

PostgresAuditStore::Result<std::vector<Checkpoint>>
PostgresAuditStore::select_checkpoints(const char *sql,
                                       std::vector<std::string> parameters) {
  parameters.insert(parameters.begin(), m_chain_id);
  auto rows = m_connection->execute(sql, parameters);
  if (!rows)
    return tl::unexpected(rows.error());
  std::vector<Checkpoint> checkpoints;
  for (int row = 0; row < rows->size(); ++row) {
    Checkpoint checkpoint;
    checkpoint.origin = chain();
    checkpoint.size = unsigned_of(*rows, row, 0);
    checkpoint.hash = rows->text(row, 1);
    checkpoint.time = rows->number(row, 2);
    checkpoint.note = rows->text(row, 3);
    checkpoints.push_back(std::move(checkpoint));
  }
  return checkpoints;
}

PostgresAuditStore::Result<Head> PostgresAuditStore::do_head() {
  auto rows = m_connection->execute(k_head, {m_chain_id});
  if (!rows)
    return tl::unexpected(rows.error());
  std::optional<Head> last;
  if (rows->size() > 0)
    last = Head{unsigned_of(*rows, 0, 0), rows->text(0, 1)};
  auto base = do_base();
  if (!base)
    return tl::unexpected(base.error());
  return head_of(std::move(last), *base);
}

PostgresAuditStore::Result<std::vector<bool>>
PostgresAuditStore::do_recorded(const std::vector<EventKey> &keys) {
  ArrayText insts, seqs;
  for (const auto &key : keys) {
    insts.add(key.inst);
    seqs.add(signed_of(key.event_seq));
  }
  auto rows = m_connection->execute(k_recorded,
                                    {m_chain_id, insts.take(), seqs.take()});
  if (!rows)
    return tl::unexpected(rows.error());
  std::vector<bool> found(keys.size(), false);
  for (int row = 0; row < rows->size(); ++row) {
    const auto index = rows->number(row, 0) - 1;
    if (index < 0 || static_cast<std::size_t>(index) >= keys.size())
      return db::corrupt(m_connection->describe() +
                         ": recorded() answered a key not asked for");
    found[static_cast<std::size_t>(index)] = true;
  }
  return found;
}

PostgresAuditStore::Result<void>
PostgresAuditStore::do_append(const std::vector<Record> &records,
                              const std::vector<InstanceMark> &marks) {
  std::string data;
  const auto field = [&](const std::string &value) {
    data += '\t';
    db::PostgresConnection::copy_field(data, value);
  };
  const auto number_field = [&](std::int64_t value) {
    data += '\t';
    data += std::to_string(value);
  };
  for (const auto &r : records) {
    data += m_chain_id;
    number_field(signed_of(r.seq));
    number_field(r.time);
    field(r.operation);
    field(r.user);
    field(r.actor);
    field(r.ip);
    number_field(r.port);
    field(r.session);
    field(r.service);
    field(r.mailbox);
    field(r.mailbox_guid);
    number_field(r.uid);
    number_field(r.uidvalidity);
    field(r.msgid);
    field(r.outcome);
    field(r.details);
    field(r.inst);
    number_field(signed_of(r.event_seq));
    field(r.prev_hash);
    field(r.hash);
    data += '\n';
  }
  // one row per inst, the last mark given for it: an upsert may not touch
  // a row twice
  std::unordered_map<std::string, std::size_t> last;
  for (std::size_t i = 0; i < marks.size(); ++i)
    last[marks[i].inst] = i;
  std::vector<ArrayText> mark_columns(6);
  for (std::size_t i = 0; i < marks.size(); ++i) {
    if (last[marks[i].inst] != i)
      continue;
    const auto &mark = marks[i];
    mark_columns[0].add(mark.inst);
    mark_columns[1].add(signed_of(mark.last_seq));
    mark_columns[2].add(mark.pid);
    mark_columns[3].add(mark.service);
    mark_columns[4].add(mark.user);
    mark_columns[5].add(mark.seen);
  }
  std::vector<std::string> parameters{m_chain_id};
  for (auto &column : mark_columns)
    parameters.push_back(column.take());
  auto done = m_connection->copy_in(k_copy_records, data);
  if (done && !marks.empty()) {
    if (auto marked = m_connection->execute(k_marks, parameters); !marked)
      done = tl::unexpected(marked.error());
  }
  if (done)
    done = m_connection->execute_script("COMMIT");
  if (!done)
    m_connection->rollback();
  return done;
}

PostgresAuditStore::Result<std::vector<InstanceMark>>
PostgresAuditStore::do_instances(std::int64_t seen_since) {
  auto rows = m_connection->execute(k_instances,
                                    {m_chain_id, std::to_string(seen_since)});
  if (!rows)
    return tl::unexpected(rows.error());
  std::vector<InstanceMark> marks;
  for (int row = 0; row < rows->size(); ++row) {
    InstanceMark mark;
    mark.inst = rows->text(row, 0);
    mark.last_seq = unsigned_of(*rows, row, 1);
    mark.pid = rows->number(row, 2);
    mark.service = rows->text(row, 3);
    mark.user = rows->text(row, 4);
    mark.seen = rows->number(row, 5);
    marks.push_back(std::move(mark));
  }
  return marks;
}

PostgresAuditStore::Result<void>
PostgresAuditStore::do_add_checkpoint(const Checkpoint &checkpoint) {
  auto rows = m_connection->execute(
      k_add_checkpoint, checkpoint_parameters(m_chain_id, checkpoint));
  if (!rows)
    return tl::unexpected(rows.error());
  return {};
}

PostgresAuditStore::Result<std::vector<Checkpoint>>
PostgresAuditStore::do_checkpoints(std::uint64_t after_size,
                                   std::size_t limit) {
  return select_checkpoints(k_checkpoints, {number(after_size), number(limit)});
}

PostgresAuditStore::Result<std::optional<Checkpoint>>
PostgresAuditStore::do_latest_checkpoint() {
  return first_of(select_checkpoints(k_latest_checkpoint, {}));
}

PostgresAuditStore::Result<std::optional<Record>>
PostgresAuditStore::do_record(std::uint64_t seq) {
  Query query;
  query.after = seq - 1;
  query.limit = 1;
  auto found = do_query(query);
  if (!found)
    return tl::unexpected(found.error());
  if (found->empty() || found->front().seq != seq)
    return std::nullopt;
  return std::move(found->front());
}

PostgresAuditStore::Result<std::vector<Record>>
PostgresAuditStore::do_query(const Query &query) {
  const auto select =
      select_records(SqlDialect::postgres, std::stoll(m_chain_id), query);
  std::vector<std::string> parameters;
  for (const auto &parameter : select.parameters) {
    if (const auto *text = std::get_if<std::string>(&parameter))
      parameters.push_back(*text);
    else
      parameters.push_back(std::to_string(std::get<std::int64_t>(parameter)));
  }
  auto rows = m_connection->execute(select.sql, parameters);
  if (!rows)
    return tl::unexpected(rows.error());
  std::vector<Record> records;
  records.reserve(static_cast<std::size_t>(rows->size()));
  for (int row = 0; row < rows->size(); ++row)
    records.push_back(read_record(*rows, row));
  return records;
}

PostgresAuditStore::Result<std::uint64_t>
PostgresAuditStore::do_end_of_prefix_before(std::int64_t time) {
  auto rows = m_connection->execute(k_end_of_prefix_before,
                                    {m_chain_id, std::to_string(time)});
  if (!rows)
    return tl::unexpected(rows.error());
  return unsigned_of(*rows, 0, 0);
}

PostgresAuditStore::Result<std::optional<Checkpoint>>
PostgresAuditStore::do_base() {
  return first_of(select_checkpoints(k_base, {}));
}

PostgresAuditStore::Result<std::uint64_t>
PostgresAuditStore::do_remove_through(const Checkpoint &base,
                                      std::size_t step) {
  auto set = m_connection->execute(k_set_base,
                                   checkpoint_parameters(m_chain_id, base));
  if (!set)
    return tl::unexpected(set.error());
  auto current = do_base();
  if (!current)
    return tl::unexpected(current.error());
  if (!*current || (*current)->size != base.size)
    return db::invalid("remove_through: a base behind the current one");
  std::uint64_t removed = 0;
  for (;;) {
    auto done = m_connection->execute(
        k_remove, {m_chain_id, number(base.size), number(step)});
    if (!done)
      return tl::unexpected(done.error());
    const auto count = done->changed();
    removed += count;
    if (count < step)
      return removed;
  }
}

PostgresAuditStore::Result<void> PostgresAuditStore::do_write_probe() {
  auto rows = m_connection->execute(k_write_probe);
  if (!rows)
    return tl::unexpected(rows.error());
  return {};
}

} // namespace dovewarden::audit
