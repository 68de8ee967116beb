#include "PostgresServer.hpp"
#include "StoreSubject.hpp"
#include "TestUtil.hpp"
#include "Wait.hpp"
#include "audit/Chain.hpp"
#include "audit/Migrations.hpp"
#include "audit/PostgresAuditStore.hpp"
#include "audit/RecordSql.hpp"
#include "audit/SqliteAuditStore.hpp"

#include <boost/test/data/monomorphic.hpp>
#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>

#include <libpq-fe.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <iostream>
#include <memory>
#include <mutex>
#include <thread>
#include <variant>

using namespace dovewarden;
using namespace std::chrono_literals;
using audit::AuditStore;
using audit::Checkpoint;
using audit::EventKey;
using audit::Head;
using audit::InstanceMark;
using audit::PostgresAuditStore;
using audit::Query;
using audit::Record;
using audit::SqliteAuditStore;

using dovewarden::test::kind_of;
using dovewarden::test::make_temp_directory;
using dovewarden::test::ok;
using dovewarden::test::PostgresServer;
using dovewarden::test::wait_until;

namespace {

const std::string k_chain = "mx1.example.com/dovewarden/audit";

// the contract cases run once per backend; PostgreSQL's only where its
// binaries are (scripts/ install them: in CI they run)
std::vector<std::string> backends() {
  std::vector<std::string> found{"sqlite"};
  if (PostgresServer::available())
    found.push_back("postgres");
  else
    std::cerr << "PostgreSQL binaries not found under /usr/lib/postgresql: "
                 "the PostgreSQL audit store cases are skipped\n";
  return found;
}

const std::vector<std::string> &k_backends() {
  static const std::vector<std::string> found = backends();
  return found;
}

// One PostgreSQL server for the contract cases; each subject has a database
// of its own.
PostgresServer &shared_postgres() {
  static PostgresServer server;
  return server;
}

std::string new_database_name() {
  static int serial = 0;
  return "audit" + std::to_string(++serial);
}

// A fresh, empty audit store of one backend, and more stores on the same
// database (PostgreSQL) or, reopened, the same file (SQLite).
class Subject {
public:
  explicit Subject(const std::string &backend, PostgresServer *server = nullptr)
      : m_backend(backend) {
    if (backend == "sqlite") {
      m_directory = make_temp_directory();
    } else {
      m_server = server != nullptr ? server : &shared_postgres();
      m_dsn = m_server->create_database(new_database_name());
    }
    m_store = ok(open(k_chain));
  }
  Subject(const Subject &) = delete;
  Subject &operator=(const Subject &) = delete;
  ~Subject() {
    m_store.reset();
    if (!m_directory.empty())
      std::filesystem::remove_all(m_directory);
  }

  AuditStore &operator*() { return *m_store; }
  AuditStore *operator->() { return m_store.get(); }
  const std::string &backend() const { return m_backend; }

  // Opens the subject's database for chain.
  db::Result<std::unique_ptr<AuditStore>> open(const std::string &chain) {
    if (m_backend == "sqlite") {
      auto opened = SqliteAuditStore::open(m_directory + "/store", chain);
      if (!opened)
        return tl::unexpected(opened.error());
      return std::unique_ptr<AuditStore>(std::move(*opened));
    }
    PostgresAuditStore::Options options;
    options.dsn = m_dsn;
    options.connect_timeout = 2s;
    auto opened = PostgresAuditStore::open(options, chain);
    if (!opened)
      return tl::unexpected(opened.error());
    return std::unique_ptr<AuditStore>(std::move(*opened));
  }
  // Closes the subject's store (SQLite's file is one connection's).
  void close() { m_store.reset(); }
  void reopen() { m_store = ok(open(k_chain)); }

  // Runs sql on the database, beside the store (closed, for SQLite).
  void execute(const std::string &sql) {
    if (m_backend == "sqlite") {
      const auto database = open_sqlite();
      sqlite3 *raw = database.get();
      char *message = nullptr;
      const int rc = sqlite3_exec(raw, sql.c_str(), nullptr, nullptr, &message);
      BOOST_REQUIRE_MESSAGE(rc == SQLITE_OK, (message ? message : "?"));
      return;
    }
    m_server->execute(sql, m_dsn.substr(m_dsn.rfind('=') + 1));
  }

  // Returns the first column of the first row sql selects, as text.
  std::string scalar(const std::string &sql);
  // Returns the plan of select as the database would run it, as text.
  std::string plan(const audit::SqlStatement &select);

private:
  using SqliteHandle = std::unique_ptr<sqlite3, decltype(&sqlite3_close)>;

  // Opens the store's file beside it.
  SqliteHandle open_sqlite() const {
    sqlite3 *raw = nullptr;
    const int rc =
        sqlite3_open((m_directory + "/store/audit.sqlite").c_str(), &raw);
    SqliteHandle database(raw, sqlite3_close);
    BOOST_REQUIRE(rc == SQLITE_OK);
    return database;
  }
  // Returns the last column (EXPLAIN QUERY PLAN's detail) of each row.
  std::vector<std::string> query(const audit::SqlStatement &select);

public:
private:
  std::string m_backend;
  std::string m_directory;
  PostgresServer *m_server = nullptr;
  std::string m_dsn;
  std::unique_ptr<AuditStore> m_store;
};

std::string to_text(const audit::SqlStatement::Parameter &parameter) {
  if (const auto *text = std::get_if<std::string>(&parameter))
    return *text;
  return std::to_string(std::get<std::int64_t>(parameter));
}

std::string Subject::scalar(const std::string &sql) {
  audit::SqlStatement select;
  select.sql = sql;
  return query(select).at(0);
}

std::string Subject::plan(const audit::SqlStatement &select) {
  audit::SqlStatement explain = select;
  explain.sql =
      (m_backend == "sqlite" ? "EXPLAIN QUERY PLAN " : "EXPLAIN ") + select.sql;
  std::string plan;
  for (const auto &line : query(explain))
    plan += line + "\n";
  return plan;
}

std::vector<std::string> Subject::query(const audit::SqlStatement &select) {
  std::vector<std::string> rows;
  if (m_backend == "sqlite") {
    const auto database = open_sqlite();
    sqlite3 *raw = database.get();
    sqlite3_stmt *statement = nullptr;
    BOOST_REQUIRE_MESSAGE(sqlite3_prepare_v2(raw, select.sql.c_str(), -1,
                                             &statement, nullptr) == SQLITE_OK,
                          sqlite3_errmsg(raw));
    int index = 0;
    for (const auto &parameter : select.parameters) {
      ++index;
      if (const auto *text = std::get_if<std::string>(&parameter))
        sqlite3_bind_text(statement, index, text->c_str(), -1,
                          SQLITE_TRANSIENT);
      else
        sqlite3_bind_int64(statement, index, std::get<std::int64_t>(parameter));
    }
    while (sqlite3_step(statement) == SQLITE_ROW) {
      const int last = sqlite3_column_count(statement) - 1;
      rows.emplace_back(
          reinterpret_cast<const char *>(sqlite3_column_text(statement, last)));
    }
    sqlite3_finalize(statement);
    return rows;
  }
  const std::unique_ptr<PGconn, decltype(&PQfinish)> connection(
      PQconnectdb(m_dsn.c_str()), PQfinish);
  BOOST_REQUIRE(PQstatus(connection.get()) == CONNECTION_OK);
  std::vector<std::string> texts;
  for (const auto &parameter : select.parameters)
    texts.push_back(to_text(parameter));
  std::vector<const char *> values;
  for (const auto &text : texts)
    values.push_back(text.c_str());
  const std::unique_ptr<PGresult, decltype(&PQclear)> result(
      PQexecParams(connection.get(), select.sql.c_str(),
                   static_cast<int>(values.size()), nullptr, values.data(),
                   nullptr, nullptr, 0),
      PQclear);
  BOOST_REQUIRE_MESSAGE(PQresultStatus(result.get()) == PGRES_TUPLES_OK,
                        PQresultErrorMessage(result.get()));
  const int last = PQnfields(result.get()) - 1;
  for (int row = 0; row < PQntuples(result.get()); ++row)
    rows.emplace_back(PQgetvalue(result.get(), row, last));
  return rows;
}

// A record as the writer makes it, fields varied by n; linked later.
Record event(int n) {
  Record record;
  record.time = 1'700'000'000'000'000 + n * 1'000'000LL;
  record.operation = n % 3 == 0 ? "user.login" : "message.expunge";
  record.user = n % 2 == 0 ? "alice@example.com" : "bob@example.com";
  record.actor = record.user;
  record.ip = n % 4 == 0 ? "2001:db8::1" : "192.0.2." + std::to_string(n % 4);
  record.port = 40000 + static_cast<std::uint32_t>(n);
  record.session = "sess" + std::to_string(n);
  record.service = "imap";
  if (record.operation != "user.login") {
    record.mailbox = n % 5 == 0 ? "Archive/2024" : "INBOX";
    record.mailbox_guid = "0123456789abcdef0123456789abcdef";
    record.uid = static_cast<std::uint32_t>(n);
    record.uidvalidity = 1700000000;
    record.msgid = "<m" + std::to_string(n) + "@example.com>";
  }
  record.outcome = "ok";
  record.details = R"({"n":)" + std::to_string(n) + "}";
  record.inst = "inst-a";
  record.event_seq = static_cast<std::uint64_t>(n);
  return record;
}

// Links records after head; returns them.
std::vector<Record> linked(Head head, std::vector<Record> records) {
  for (auto &record : records) {
    audit::link(record, head.seq, head.hash);
    head = Head{record.seq, record.hash};
  }
  return records;
}

// Links records after the store's head; returns them.
std::vector<Record> linked(AuditStore &store, std::vector<Record> records) {
  return linked(ok(store.head()), std::move(records));
}

// Appends events first..last (event(n)), linked; returns them.
std::vector<Record> append_events(AuditStore &store, int first, int last) {
  std::vector<Record> records;
  for (int n = first; n <= last; ++n)
    records.push_back(event(n));
  records = linked(store, std::move(records));
  ok(store.append(records, {}));
  return records;
}

Checkpoint checkpoint(AuditStore &store, std::uint64_t size,
                      std::int64_t time = 1) {
  Checkpoint checkpoint;
  checkpoint.origin = store.chain();
  checkpoint.size = size;
  checkpoint.hash =
      size == 0 ? audit::k_genesis_hash : ok(store.record(size))->hash;
  checkpoint.time = time;
  checkpoint.note = store.chain() + "\n" + std::to_string(size) + "\nHASH\n";
  return checkpoint;
}

using Seqs = std::vector<std::uint64_t>;

Seqs seqs(const std::vector<Record> &records) {
  Seqs result;
  for (const auto &record : records)
    result.push_back(record.seq);
  return result;
}

Seqs sizes(const std::vector<Checkpoint> &checkpoints) {
  Seqs result;
  for (const auto &checkpoint : checkpoints)
    result.push_back(checkpoint.size);
  return result;
}

Seqs query_seqs(AuditStore &store, Query query) {
  return seqs(ok(store.query(query)));
}

InstanceMark mark(const std::string &inst, std::uint64_t last_seq,
                  std::int64_t seen) {
  InstanceMark mark;
  mark.inst = inst;
  mark.last_seq = last_seq;
  mark.pid = 4242;
  mark.service = "imap";
  mark.user = "alice@example.com";
  mark.seen = seen;
  return mark;
}

} // namespace

namespace std {
ostream &operator<<(ostream &out, const Seqs &seqs) {
  out << '[';
  for (const auto seq : seqs)
    out << seq << ' ';
  return out << ']';
}
} // namespace std

BOOST_AUTO_TEST_SUITE(audit_store)

namespace data = boost::unit_test::data;

BOOST_DATA_TEST_CASE(a_new_chain_starts_at_the_genesis_hash,
                     data::make(k_backends()), backend) {
  Subject store(backend);
  const Head head = ok(store->head());
  BOOST_TEST(head.seq == 0u);
  BOOST_TEST(head.hash == audit::k_genesis_hash);
  BOOST_TEST(!ok(store->record(1)));
  BOOST_TEST(ok(store->query(Query{})).empty());
}

BOOST_DATA_TEST_CASE(appended_records_read_back_exactly_and_move_the_head,
                     data::make(k_backends()), backend) {
  Subject store(backend);
  auto first = event(1);
  // what an array, a quoted string or a JSON text may hold must survive
  first.details = R"({"a":"x\"y\\z","b":[1,2],"c":"{},\" NULL"})";
  first.mailbox = "Spam, \"junk\" {old}\\ ünïcode";
  first.user = "NULL";
  first.msgid = "";
  first.inst = "";
  first.event_seq = 0;
  auto records = linked(*store, {first, event(2), event(3)});
  ok(store->append(records, {}));
  for (const auto &record : records)
    BOOST_TEST((ok(store->record(record.seq)) == record));
  const Head head = ok(store->head());
  BOOST_TEST(head.seq == 3u);
  BOOST_TEST(head.hash == records.back().hash);
  BOOST_TEST(!ok(store->record(4)));
}

BOOST_DATA_TEST_CASE(a_taken_seq_or_event_is_a_conflict_and_changes_nothing,
                     data::make(k_backends()), backend) {
  Subject store(backend);
  const auto records = append_events(*store, 1, 2);
  // the same seq again
  auto again = linked(*store, {event(3)});
  again[0].seq = 2;
  BOOST_TEST(kind_of(store->append(again, {mark("inst-z", 9, 1)})) ==
             "conflict");
  // a replayed event under a new seq
  auto replay = linked(*store, {event(3), event(1)});
  BOOST_TEST(kind_of(store->append(replay, {mark("inst-z", 9, 1)})) ==
             "conflict");
  BOOST_TEST(ok(store->head()).seq == 2u);
  BOOST_TEST(!ok(store->record(3)));
  BOOST_TEST(ok(store->instances(0)).empty());
  // records without an event may repeat its (empty) key
  auto first = event(10), second = event(11);
  first.inst = second.inst = "";
  first.event_seq = second.event_seq = 0;
  ok(store->append(linked(*store, {first, second}), {}));
  BOOST_TEST(ok(store->head()).seq == 4u);
}

BOOST_DATA_TEST_CASE(recorded_tells_which_events_have_a_record,
                     data::make(k_backends()), backend) {
  Subject store(backend);
  append_events(*store, 1, 3);
  const std::vector<EventKey> keys{
      {"inst-a", 2}, {"inst-a", 4}, {"inst-b", 1}, {"inst-a", 1}, {"", 0}};
  const auto found = ok(store->recorded(keys));
  BOOST_TEST((found == std::vector<bool>{true, false, false, true, false}));
  BOOST_TEST(ok(store->recorded({})).empty());
}

BOOST_DATA_TEST_CASE(marks_replace_their_instances_and_are_read_by_age,
                     data::make(k_backends()), backend) {
  Subject store(backend);
  ok(store->append({}, {mark("inst-a", 5, 100), mark("inst-b", 7, 200)}));
  ok(store->append(linked(*store, {event(1)}), {mark("inst-a", 9, 300)}));
  const auto marks = ok(store->instances(150));
  BOOST_REQUIRE(marks.size() == 2u);
  BOOST_TEST(marks[0].inst == "inst-b");
  BOOST_TEST(marks[0].last_seq == 7u);
  BOOST_TEST(marks[1].inst == "inst-a");
  BOOST_TEST(marks[1].last_seq == 9u);
  BOOST_TEST(marks[1].pid == 4242);
  BOOST_TEST(marks[1].service == "imap");
  BOOST_TEST(marks[1].user == "alice@example.com");
  BOOST_TEST(marks[1].seen == 300);
  BOOST_TEST(ok(store->instances(301)).empty());
  // the last of two marks of one instance in a batch wins
  ok(store->append({}, {mark("inst-c", 1, 400), mark("inst-c", 2, 401)}));
  BOOST_TEST(ok(store->instances(400)).at(0).last_seq == 2u);
}

BOOST_DATA_TEST_CASE(checkpoints_are_listed_by_size_and_the_latest_found,
                     data::make(k_backends()), backend) {
  Subject store(backend);
  append_events(*store, 1, 10);
  BOOST_TEST(!ok(store->latest_checkpoint()));
  for (const std::uint64_t size : {3, 9, 6})
    ok(store->add_checkpoint(checkpoint(*store, size, 1000 + size)));
  BOOST_TEST(sizes(ok(store->checkpoints(0, 10))) == (Seqs{3, 6, 9}));
  BOOST_TEST(sizes(ok(store->checkpoints(3, 1))) == (Seqs{6}));
  BOOST_TEST(sizes(ok(store->checkpoints(9, 10))).empty());
  const auto latest = ok(store->latest_checkpoint());
  BOOST_REQUIRE(latest);
  BOOST_TEST(latest->origin == store->chain());
  BOOST_TEST(latest->size == 9u);
  BOOST_TEST(latest->hash == ok(store->record(9))->hash);
  BOOST_TEST(latest->time == 1009);
  BOOST_TEST(latest->note == checkpoint(*store, 9).note);
  BOOST_TEST(kind_of(store->add_checkpoint(checkpoint(*store, 6))) ==
             "conflict");
}

BOOST_DATA_TEST_CASE(retention_keeps_a_base_and_removes_in_steps,
                     data::make(k_backends()), backend) {
  Subject store(backend);
  const auto records = append_events(*store, 1, 10);
  BOOST_TEST(!ok(store->base()));
  const auto base = checkpoint(*store, 7);
  BOOST_TEST(ok(store->remove_through(base, 3)) == 7u);
  BOOST_TEST(query_seqs(*store, Query{}) == (Seqs{8, 9, 10}));
  const auto kept = ok(store->base());
  BOOST_REQUIRE(kept);
  BOOST_TEST(kept->size == 7u);
  BOOST_TEST(kept->hash == records[6].hash);
  BOOST_TEST(kept->note == base.note);
  BOOST_TEST(ok(store->head()).seq == 10u);
  // again: nothing more to remove
  BOOST_TEST(ok(store->remove_through(base, 3)) == 0u);
  BOOST_TEST(kind_of(store->remove_through(checkpoint(*store, 0), 3)) ==
             "invalid");
  BOOST_TEST(ok(store->base())->size == 7u);
  // every record removed: the head is the base's, and the chain goes on
  BOOST_TEST(ok(store->remove_through(checkpoint(*store, 10), 2)) == 3u);
  const Head head = ok(store->head());
  BOOST_TEST(head.seq == 10u);
  BOOST_TEST(head.hash == records.back().hash);
  append_events(*store, 11, 11);
  BOOST_TEST(ok(store->record(11))->prev_hash == records.back().hash);
}

BOOST_DATA_TEST_CASE(query_selects_by_every_filter_in_seq_order_and_pages,
                     data::make(k_backends()), backend) {
  Subject store(backend);
  append_events(*store, 1, 12);
  Query query;
  query.user = "alice@example.com";
  BOOST_TEST(query_seqs(*store, query) == (Seqs{2, 4, 6, 8, 10, 12}));
  query = Query{};
  query.operation = "user.login";
  BOOST_TEST(query_seqs(*store, query) == (Seqs{3, 6, 9, 12}));
  query.operation = "message.*";
  BOOST_TEST(query_seqs(*store, query) == (Seqs{1, 2, 4, 5, 7, 8, 10, 11}));
  query.operation = "user.*";
  BOOST_TEST(query_seqs(*store, query) == (Seqs{3, 6, 9, 12}));
  query.operation = "message";
  BOOST_TEST(query_seqs(*store, query).empty());
  query = Query{};
  query.since = event(4).time;
  query.until = event(7).time;
  BOOST_TEST(query_seqs(*store, query) == (Seqs{4, 5, 6}));
  query = Query{};
  query.mailbox = "Archive/2024";
  BOOST_TEST(query_seqs(*store, query) == (Seqs{5, 10}));
  query = Query{};
  query.ip = "2001:db8::1";
  BOOST_TEST(query_seqs(*store, query) == (Seqs{4, 8, 12}));
  query = Query{};
  query.msgid = "<m7@example.com>";
  BOOST_TEST(query_seqs(*store, query) == (Seqs{7}));
  // filters narrow together
  query = Query{};
  query.user = "bob@example.com";
  query.operation = "message.*";
  query.since = event(2).time;
  BOOST_TEST(query_seqs(*store, query) == (Seqs{5, 7, 11}));
  // pages: after the last seq of the one before
  query = Query{};
  query.user = "alice@example.com";
  query.limit = 4;
  BOOST_TEST(query_seqs(*store, query) == (Seqs{2, 4, 6, 8}));
  query.after = 8;
  BOOST_TEST(query_seqs(*store, query) == (Seqs{10, 12}));
  query.after = 12;
  BOOST_TEST(query_seqs(*store, query).empty());
}

// As a busy server's log has them: many users, addresses and messages, an
// operation rare among the rest, time growing with seq.
Record varied_event(int n) {
  Record record = event(n);
  record.operation = n % 100 == 0 ? "admin.replicate" : "message.expunge";
  record.user = "user" + std::to_string(n % 500) + "@example.com";
  record.ip = "10.0." + std::to_string(n % 250) + "." + std::to_string(n % 7);
  record.mailbox = "Folder" + std::to_string(n % 300);
  record.msgid = "<m" + std::to_string(n) + "@example.com>";
  return record;
}

BOOST_DATA_TEST_CASE(each_query_filter_is_served_by_an_index,
                     data::make(k_backends()), backend) {
  Subject store(backend);
  constexpr int k_records = 20'000, k_batch = 1000;
  for (int first = 1; first <= k_records; first += k_batch) {
    std::vector<Record> records;
    for (int n = first; n < first + k_batch; ++n)
      records.push_back(varied_event(n));
    ok(store->append(linked(*store, std::move(records)), {}));
  }
  struct Case {
    Query query;
    std::string index;
  };
  std::vector<Case> cases(7);
  cases[0].query.user = "user7@example.com";
  cases[0].index = "audit_records_user";
  cases[1].query.user = "user7@example.com";
  cases[1].query.since = varied_event(k_records - 100).time;
  cases[1].index = "audit_records_user";
  cases[2].query.operation = "admin.*";
  cases[2].index = "audit_records_operation";
  cases[3].query.since = varied_event(k_records - 50).time;
  cases[3].index = "audit_records_time";
  cases[4].query.mailbox = "Folder7";
  cases[4].index = "audit_records_mailbox";
  cases[5].query.ip = "10.0.7.0";
  cases[5].index = "audit_records_ip";
  cases[6].query.msgid = "<m77@example.com>";
  cases[6].index = "audit_records_msgid";
  const auto dialect = backend == "sqlite" ? audit::SqlDialect::sqlite
                                           : audit::SqlDialect::postgres;
  store.close();
  store.execute("ANALYZE");
  const auto chain_id = std::stoll(store.scalar(
      "SELECT id FROM audit_chains WHERE name = '" + k_chain + "'"));
  for (const auto &each : cases) {
    const auto plan =
        store.plan(audit::select_records(dialect, chain_id, each.query));
    BOOST_TEST(plan.find(each.index) != std::string::npos,
               each.index << " not in the plan:\n"
                          << plan);
  }
}

BOOST_DATA_TEST_CASE(end_of_prefix_before_ends_before_the_first_younger_record,
                     data::make(k_backends()), backend) {
  Subject store(backend);
  BOOST_TEST(ok(store->end_of_prefix_before(event(5).time)) == 0u);
  append_events(*store, 1, 6);
  BOOST_TEST(ok(store->end_of_prefix_before(event(5).time)) == 4u);
  BOOST_TEST(ok(store->end_of_prefix_before(event(5).time + 1)) == 5u);
  BOOST_TEST(ok(store->end_of_prefix_before(event(7).time)) == 6u);
  BOOST_TEST(ok(store->end_of_prefix_before(event(1).time)) == 0u);
  // a record that came late with an old time stays behind the younger ones
  auto late = event(2);
  late.event_seq = 102;
  ok(store->append(linked(*store, {event(7), late}), {}));
  BOOST_TEST(ok(store->end_of_prefix_before(event(5).time)) == 4u);
  BOOST_TEST(ok(store->end_of_prefix_before(event(7).time)) == 6u);
  BOOST_TEST(ok(store->end_of_prefix_before(event(8).time)) == 8u);
  // behind a base, the prefix starts at the base
  ok(store->add_checkpoint(checkpoint(*store, 3)));
  ok(store->remove_through(checkpoint(*store, 3), 10));
  BOOST_TEST(ok(store->end_of_prefix_before(event(1).time)) == 3u);
  BOOST_TEST(ok(store->end_of_prefix_before(event(5).time)) == 4u);
}

BOOST_DATA_TEST_CASE(migrations_are_applied_once_and_a_newer_schema_refused,
                     data::make(k_backends()), backend) {
  Subject store(backend);
  append_events(*store, 1, 2);
  store.close();
  store.reopen();
  BOOST_TEST(ok(store->head()).seq == 2u);
  store.close();
  const auto &all =
      audit::migrations(backend == "sqlite" ? audit::SqlDialect::sqlite
                                            : audit::SqlDialect::postgres);
  const auto latest = all.back().version;
  // one row per migration, however often the store opened
  BOOST_TEST(store.scalar("SELECT count(*) FROM audit_schema_migrations") ==
             std::to_string(all.size()));
  BOOST_TEST(store.scalar("SELECT max(version) FROM audit_schema_migrations") ==
             std::to_string(latest));
  store.execute("INSERT INTO audit_schema_migrations VALUES (" +
                std::to_string(latest + 1) + ", '9999_future.sql', 0)");
  const auto refused = store.open(k_chain);
  BOOST_REQUIRE(!refused);
  BOOST_TEST(kind_of(refused) == "corrupt");
  BOOST_TEST(refused.error().message.find("newer than this dovewardend") !=
             std::string::npos);
}

BOOST_AUTO_TEST_CASE(both_dialects_number_their_migrations_from_one) {
  for (const auto dialect :
       {audit::SqlDialect::sqlite, audit::SqlDialect::postgres}) {
    const auto &all = audit::migrations(dialect);
    BOOST_REQUIRE(!all.empty());
    for (std::size_t i = 0; i < all.size(); ++i)
      BOOST_TEST(all[i].version == static_cast<int>(i) + 1);
    BOOST_TEST(all.front().name == "0001_audit.sql");
    BOOST_TEST(all.front().sql.find("CREATE TABLE audit_records") !=
               std::string::npos);
  }
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(sqlite_audit_store)

BOOST_AUTO_TEST_CASE(a_new_file_has_the_large_pages_of_the_audit_log) {
  Subject store("sqlite");
  store.close();
  BOOST_TEST(store.scalar("PRAGMA page_size") == "16384");
  BOOST_TEST(store.scalar("PRAGMA journal_mode") == "wal");
}

BOOST_AUTO_TEST_CASE(a_committed_batch_survives_a_kill_9) {
  const std::string directory = make_temp_directory();
  std::vector<Record> records;
  for (int n = 1; n <= 2000; ++n)
    records.push_back(event(n));
  records = linked(Head{0, audit::k_genesis_hash}, std::move(records));
  const std::vector<Record> first(records.begin(), records.begin() + 1000);
  const std::vector<Record> second(records.begin() + 1000, records.end());
  int committed[2];
  BOOST_REQUIRE(::pipe(committed) == 0);
  const pid_t child = ::fork();
  BOOST_REQUIRE(child >= 0);
  if (child == 0) {
    // the writer: two batches, then killed before it can close the file
    ::close(committed[0]);
    auto store = SqliteAuditStore::open(directory + "/store", k_chain);
    const bool appended =
        store && (*store)->append(first, {}) && (*store)->append(second, {});
    const char answer = appended ? 'y' : 'n';
    if (::write(committed[1], &answer, 1) != 1)
      ::_exit(1);
    for (;;)
      ::pause();
  }
  ::close(committed[1]);
  char answer = 0;
  const auto got = ::read(committed[0], &answer, 1);
  ::close(committed[0]);
  ::kill(child, SIGKILL);
  int status = 0;
  ::waitpid(child, &status, 0);
  BOOST_REQUIRE(got == 1);
  BOOST_REQUIRE(answer == 'y');
  BOOST_TEST(WIFSIGNALED(status));
  auto reopened = ok(SqliteAuditStore::open(directory + "/store", k_chain));
  const Head head = ok(reopened->head());
  BOOST_TEST(head.seq == 2000u);
  BOOST_TEST(head.hash == records.back().hash);
  BOOST_TEST((ok(reopened->record(1000)) == records[999]));
  BOOST_TEST((ok(reopened->record(2000)) == records.back()));
  reopened.reset();
  std::filesystem::remove_all(directory);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(postgres_audit_store,
                      *boost::unit_test::precondition([](auto) {
                        return PostgresServer::available();
                      }))

BOOST_AUTO_TEST_CASE(chains_sharing_a_database_are_kept_apart) {
  Subject first("postgres");
  auto second = ok(first.open("mx2.example.com/dovewarden/audit"));
  append_events(*first, 1, 3);
  append_events(*second, 1, 2); // the same events, in another chain
  ok(first->append({}, {mark("inst-a", 3, 10)}));
  ok(first->add_checkpoint(checkpoint(*first, 3)));
  ok(first->remove_through(checkpoint(*first, 1), 10));
  BOOST_TEST(ok(first->head()).seq == 3u);
  BOOST_TEST(ok(second->head()).seq == 2u);
  BOOST_TEST(query_seqs(*first, Query{}) == (Seqs{2, 3}));
  BOOST_TEST(query_seqs(*second, Query{}) == (Seqs{1, 2}));
  BOOST_TEST(ok(second->record(1))->hash != ok(first->head()).hash);
  BOOST_TEST(ok(second->instances(0)).empty());
  BOOST_TEST(ok(second->checkpoints(0, 10)).empty());
  BOOST_TEST(!ok(second->base()));
  BOOST_TEST(ok(second->end_of_prefix_before(event(3).time)) == 2u);
  BOOST_TEST(
      (ok(second->recorded({{"inst-a", 1}})) == std::vector<bool>{true}));
}

BOOST_AUTO_TEST_CASE(daemons_starting_together_migrate_a_database_once) {
  const auto dsn = shared_postgres().create_database(new_database_name());
  std::vector<std::string> failures;
  std::mutex mutex;
  std::vector<std::thread> daemons;
  for (int i = 0; i < 4; ++i) {
    daemons.emplace_back([&, i] {
      PostgresAuditStore::Options options;
      options.dsn = dsn;
      auto opened = PostgresAuditStore::open(options, "mx" + std::to_string(i) +
                                                          ".example.com/audit");
      if (!opened) {
        const std::lock_guard lock(mutex);
        failures.push_back(opened.error().message);
      }
    });
  }
  for (auto &daemon : daemons)
    daemon.join();
  BOOST_TEST(failures.empty(), (failures.empty() ? "" : failures.front()));
}

BOOST_AUTO_TEST_CASE(a_stopped_server_is_unavailable_until_it_returns) {
  PostgresServer server;
  Subject store("postgres", &server);
  append_events(*store, 1, 2);
  server.stop();
  BOOST_TEST(kind_of(store->head()) == "unavailable");
  BOOST_TEST(!store->writable());
  BOOST_TEST(store->last_failure().find("postgresql://postgres@127.0.0.1:") !=
             std::string::npos);
  BOOST_TEST(!store->check());
  server.start();
  BOOST_TEST(wait_until([&] { return store->check(); }, 15s));
  BOOST_TEST(store->writable());
  append_events(*store, 3, 3);
  BOOST_TEST(ok(store->head()).seq == 3u);
}

BOOST_AUTO_TEST_CASE(a_statement_past_the_timeout_fails_as_unavailable) {
  db::PostgresConnection::Options options;
  options.dsn = shared_postgres().dsn();
  options.statement_timeout = 100ms;
  auto connection = ok(db::PostgresConnection::connect(options));
  const auto started = std::chrono::steady_clock::now();
  const auto slow = connection->execute("SELECT pg_sleep(5)");
  BOOST_TEST(kind_of(slow) == "unavailable");
  BOOST_TEST((std::chrono::steady_clock::now() - started < 4s));
  // and the connection serves the next call
  BOOST_TEST(ok(connection->execute("SELECT 1")).number(0, 0) == 1);
}

BOOST_AUTO_TEST_CASE(the_password_stays_out_of_failures_and_log_lines) {
  const std::string dsn = "host=127.0.0.1 port=1 user=audit "
                          "password=s3cret-Passw0rd dbname=audit";
  const auto redacted = db::PostgresConnection::redacted(dsn);
  BOOST_TEST(redacted.find("s3cret") == std::string::npos);
  BOOST_TEST(redacted.find("password=***") != std::string::npos);
  BOOST_TEST(redacted.find("user=audit") != std::string::npos);
  PostgresAuditStore::Options options;
  options.dsn = dsn;
  options.connect_timeout = 2s;
  const auto refused = PostgresAuditStore::open(options, k_chain);
  BOOST_REQUIRE(!refused);
  BOOST_TEST(kind_of(refused) == "unavailable");
  BOOST_TEST(refused.error().message.find("s3cret") == std::string::npos);
  options.dsn = "host=127.0.0.1 password='s3cret-Passw0rd";
  const auto invalid = PostgresAuditStore::open(options, k_chain);
  BOOST_REQUIRE(!invalid);
  BOOST_TEST(kind_of(invalid) == "invalid");
  BOOST_TEST(invalid.error().message.find("s3cret") == std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()
