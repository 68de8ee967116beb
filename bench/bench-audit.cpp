// How fast the audit stores take records, beside what the database itself
// costs. N records, in batches of the default size, three ways into each
// backend (SQLite; PostgreSQL on a server of its own), each into a fresh
// database:
//   (a) the audit store: audit::link (SHA-256) and AuditStore::append, the
//       real schema (the migrations) with its indexes, the instance mark;
//   (b) a bare batched insert of the same rows, hashes precomputed, into the
//       same schema: the cost of the database and the indexes the queries
//       need. SQLite: a prepared INSERT per row; PostgreSQL: COPY, the
//       fastest, shown beside a multi-row INSERT ... VALUES and an INSERT
//       from unnest (what the store did before COPY);
//   (c) the same bare insert into a table with the same columns and only the
//       primary key.
// PREFILL records go in first, untimed, the same way: a database that
// already holds months of records.
//
//   bench-audit [RECORDS] [BATCH] [ROUNDS] [sqlite|postgres] [PREFILL]
//   (defaults: 200000 1000 3, both, 0)
//
// The median round of each is shown.

#include "CpuTime.hpp"
#include "PostgresServer.hpp"
#include "audit/Chain.hpp"
#include "audit/PostgresAuditStore.hpp"
#include "audit/SqliteAuditStore.hpp"
#include "db/PostgresConnection.hpp"

#include <libpq-fe.h>
#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

using namespace dovewarden;

namespace {

const std::string k_chain = "bench.example.com/dovewarden/audit";
// the id the store gives the chain in a new database (audit_chains)
constexpr std::int64_t k_chain_id = 1;

// a mailbox server's mix: expunges, flag changes, logins; 5000 users
std::vector<audit::Record> make_records(int count) {
  std::vector<audit::Record> records;
  records.reserve(static_cast<std::size_t>(count));
  for (int n = 1; n <= count; ++n) {
    audit::Record record;
    record.time = 1'700'000'000'000'000 + n * 137LL;
    const int kind = n % 10;
    record.operation = kind < 5   ? "message.expunge"
                       : kind < 9 ? "flags.set"
                                  : "user.login";
    record.user = "user" + std::to_string(n % 5000) + "@example.com";
    record.actor = record.user;
    record.ip =
        "10.1." + std::to_string(n % 200) + "." + std::to_string(n % 97);
    record.port = static_cast<std::uint32_t>(30000 + n % 30000);
    record.session = "Sess" + std::to_string(n / 20);
    record.service = "imap";
    if (kind < 9) {
      record.mailbox = n % 3 == 0 ? "Archive" : "INBOX";
      record.mailbox_guid = "3a9c0e1b5d7f20116b0a000012345678";
      record.uid = static_cast<std::uint32_t>(n);
      record.uidvalidity = 1700000000;
      record.msgid = "<" + std::to_string(n) + ".abcdef@mail.example.com>";
    }
    record.outcome = "ok";
    record.details = kind < 5 ? R"({"vsize":12345,"reason":"expunge"})"
                              : R"({"flags":["\\Seen"],"keywords":[]})";
    record.inst = "0f3c2a1b-" + std::to_string(n / 50000);
    record.event_seq = static_cast<std::uint64_t>(n);
    records.push_back(std::move(record));
  }
  return records;
}

struct Rate {
  double per_second = 0;
  double client_us = 0; // CPU of this process per record
  double server_us = 0; // CPU of the PostgreSQL backend per record

  double cpu_us() const { return client_us + server_us; }
};

// Times body (which returns false on failure) over count records; server:
// the PostgreSQL backend serving it, if any.
template <typename Body>
Rate timed(std::size_t count, Body body, pid_t server = -1) {
  const double cpu0 = bench::self_cpu_seconds();
  const double server0 = server > 0 ? bench::process_cpu_seconds(server) : 0;
  const auto started = std::chrono::steady_clock::now();
  if (!body())
    std::exit(1);
  const std::chrono::duration<double> elapsed =
      std::chrono::steady_clock::now() - started;
  const auto records = static_cast<double>(count);
  Rate rate{records / elapsed.count(),
            (bench::self_cpu_seconds() - cpu0) * 1e6 / records, 0};
  if (server > 0)
    rate.server_us =
        (bench::process_cpu_seconds(server) - server0) * 1e6 / records;
  return rate;
}

[[noreturn]] void fail(const std::string &what) {
  std::fprintf(stderr, "%s\n", what.c_str());
  std::exit(1);
}

// The rows [first, last) of all, a batch at a time: insert(from, to)
// returns false on failure. The first `prefill` rows go in untimed.
template <typename Insert>
Rate batched(std::size_t count, std::size_t prefill, std::size_t batch,
             Insert insert, pid_t server = -1) {
  const auto run = [&](std::size_t first, std::size_t last) {
    for (std::size_t from = first; from < last; from += batch)
      if (!insert(from, std::min(last, from + batch)))
        return false;
    return true;
  };
  if (!run(0, prefill))
    std::exit(1);
  return timed(
      count, [&] { return run(prefill, prefill + count); }, server);
}

// Returns the pid of the backend serving the other connection of the
// database (the store's), or of this one.
pid_t backend(db::PostgresConnection &connection, bool other) {
  auto rows = connection.execute(
      other ? "SELECT pid FROM pg_stat_activity WHERE datname = "
              "current_database() AND pid <> pg_backend_pid() AND "
              "backend_type = 'client backend'"
            : "SELECT pg_backend_pid()");
  if (!rows || rows->size() != 1)
    fail("cannot find the backend");
  return static_cast<pid_t>(rows->number(0, 0));
}

// (a) The writer's work: link each batch after the head, append it with
// the mark of its instance.
Rate through_store(audit::AuditStore &store,
                   const std::vector<audit::Record> &source, std::size_t count,
                   std::size_t prefill, std::size_t batch, pid_t server = -1) {
  auto head = store.head();
  if (!head)
    fail("head: " + head.error().message);
  std::uint64_t seq = head->seq;
  std::string hash = head->hash;
  const auto append = [&](std::size_t first, std::size_t last) {
    std::vector<audit::Record> records(
        source.begin() + static_cast<std::ptrdiff_t>(first),
        source.begin() + static_cast<std::ptrdiff_t>(last));
    for (auto &record : records) {
      audit::link(record, seq, hash);
      seq = record.seq;
      hash = record.hash;
    }
    audit::InstanceMark mark;
    mark.inst = records.back().inst;
    mark.last_seq = records.back().event_seq;
    mark.seen = records.back().time;
    if (auto done = store.append(records, {mark}); !done) {
      std::fprintf(stderr, "append: %s\n", done.error().message.c_str());
      return false;
    }
    return true;
  };
  return batched(count, prefill, batch, append, server);
}

// The rows of the store's table, hashes and all, computed beforehand.
std::vector<audit::Record> linked(std::vector<audit::Record> records) {
  std::uint64_t seq = 0;
  std::string hash = audit::k_genesis_hash;
  for (auto &record : records) {
    audit::link(record, seq, hash);
    seq = record.seq;
    hash = record.hash;
  }
  return records;
}

constexpr const char *k_bare_columns =
    "(chain, seq, time, operation, \"user\", actor, ip, port, session, "
    "service, mailbox, mailbox_guid, uid, uidvalidity, msgid, outcome, "
    "details, inst, event_seq, prev_hash, hash)";

// (c)'s table: the columns of audit_records, the primary key alone
constexpr const char *k_bare_table =
    "CREATE TABLE bare_records (chain INTEGER NOT NULL, seq BIGINT NOT NULL,"
    " time BIGINT, operation TEXT, \"user\" TEXT, actor TEXT, ip TEXT,"
    " port INTEGER, session TEXT, service TEXT, mailbox TEXT,"
    " mailbox_guid TEXT, uid BIGINT, uidvalidity BIGINT, msgid TEXT,"
    " outcome TEXT, details TEXT, inst TEXT, event_seq BIGINT,"
    " prev_hash TEXT, hash TEXT, PRIMARY KEY (chain, seq))";

// the record's columns after chain, as text
std::vector<std::string> texts(const audit::Record &r) {
  return {std::to_string(r.seq),
          std::to_string(r.time),
          r.operation,
          r.user,
          r.actor,
          r.ip,
          std::to_string(r.port),
          r.session,
          r.service,
          r.mailbox,
          r.mailbox_guid,
          std::to_string(r.uid),
          std::to_string(r.uidvalidity),
          r.msgid,
          r.outcome,
          r.details,
          r.inst,
          std::to_string(r.event_seq),
          r.prev_hash,
          r.hash};
}

bool sqlite_ok(sqlite3 *database, int rc, const char *what) {
  if (rc == SQLITE_OK || rc == SQLITE_DONE)
    return true;
  std::fprintf(stderr, "%s: %s\n", what, sqlite3_errmsg(database));
  return false;
}

// A prepared INSERT per row, a transaction per batch, the store's pragmas
// (db/SqliteDatabase) and page size (a new file), into table of the file at
// path; create: its schema, if the file does not have it yet.
Rate bare_sqlite(const std::string &path, const char *create,
                 const std::string &table,
                 const std::vector<audit::Record> &rows, std::size_t count,
                 std::size_t prefill, std::size_t batch) {
  sqlite3 *database = nullptr;
  sqlite3_open(path.c_str(), &database);
  const std::string schema =
      std::string("PRAGMA page_size = 16384;"
                  "PRAGMA locking_mode = EXCLUSIVE; PRAGMA journal_mode = WAL;"
                  "PRAGMA synchronous = NORMAL; PRAGMA cache_size = -65536;"
                  "PRAGMA wal_autocheckpoint = 10000;") +
      create;
  if (!sqlite_ok(
          database,
          sqlite3_exec(database, schema.c_str(), nullptr, nullptr, nullptr),
          "schema"))
    std::exit(1);
  std::string sql =
      "INSERT INTO " + table + " " + k_bare_columns + " VALUES (?1";
  for (int i = 2; i <= 21; ++i)
    sql += ", ?" + std::to_string(i);
  sql += ")";
  sqlite3_stmt *insert = nullptr;
  if (!sqlite_ok(
          database,
          sqlite3_prepare_v2(database, sql.c_str(), -1, &insert, nullptr),
          "prepare"))
    std::exit(1);
  const auto text = [&](int index, const std::string &value) {
    sqlite3_bind_text(insert, index, value.data(),
                      static_cast<int>(value.size()), SQLITE_STATIC);
  };
  const auto transaction = [&](std::size_t first, std::size_t last) {
    sqlite3_exec(database, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr);
    for (std::size_t i = first; i < last; ++i) {
      const auto &r = rows[i];
      sqlite3_bind_int64(insert, 1, k_chain_id);
      sqlite3_bind_int64(insert, 2, static_cast<sqlite3_int64>(r.seq));
      sqlite3_bind_int64(insert, 3, r.time);
      text(4, r.operation);
      text(5, r.user);
      text(6, r.actor);
      text(7, r.ip);
      sqlite3_bind_int64(insert, 8, r.port);
      text(9, r.session);
      text(10, r.service);
      text(11, r.mailbox);
      text(12, r.mailbox_guid);
      sqlite3_bind_int64(insert, 13, r.uid);
      sqlite3_bind_int64(insert, 14, r.uidvalidity);
      text(15, r.msgid);
      text(16, r.outcome);
      text(17, r.details);
      text(18, r.inst);
      sqlite3_bind_int64(insert, 19, static_cast<sqlite3_int64>(r.event_seq));
      text(20, r.prev_hash);
      text(21, r.hash);
      const int rc = sqlite3_step(insert);
      sqlite3_reset(insert);
      if (!sqlite_ok(database, rc, "insert"))
        return false;
    }
    return sqlite_ok(
        database, sqlite3_exec(database, "COMMIT", nullptr, nullptr, nullptr),
        "commit");
  };
  const Rate rate = batched(count, prefill, batch, transaction);
  sqlite3_finalize(insert);
  sqlite3_close(database);
  return rate;
}

// One multi-row INSERT ... VALUES per batch, text parameters: one round
// trip, one transaction.
Rate bare_postgres(const std::string &dsn, const char *create,
                   const std::string &table,
                   const std::vector<audit::Record> &rows, std::size_t count,
                   std::size_t prefill, std::size_t batch) {
  auto connection = db::PostgresConnection::connect({dsn});
  if (!connection || (create && !(*connection)->execute_script(create)))
    fail("cannot create the bare table");
  auto &postgres = **connection;
  const auto insert = [&](std::size_t first, std::size_t last) {
    std::string sql =
        "INSERT INTO " + table + " " + k_bare_columns + " VALUES ";
    std::vector<std::string> parameters;
    int number = 0;
    for (std::size_t i = first; i < last; ++i) {
      sql += i == first ? "(" : ", (";
      parameters.push_back(std::to_string(k_chain_id));
      sql += "$" + std::to_string(++number);
      for (auto &text : texts(rows[i])) {
        parameters.push_back(std::move(text));
        sql += ", $" + std::to_string(++number);
      }
      sql += ")";
    }
    if (auto done = postgres.execute(sql, parameters); !done) {
      std::fprintf(stderr, "insert: %s\n", done.error().message.c_str());
      return false;
    }
    return true;
  };
  return batched(count, prefill, batch, insert, backend(postgres, false));
}

// PostgreSQL's text form of an array
std::string array_text(const std::vector<std::string> &values, bool quoted) {
  std::string text = "{";
  for (const auto &value : values) {
    if (text.size() > 1)
      text += ',';
    if (!quoted) {
      text += value;
      continue;
    }
    text += '"';
    for (const char c : value) {
      if (c == '"' || c == '\\')
        text += '\\';
      text += c;
    }
    text += '"';
  }
  return text + "}";
}

// The statement the store used before COPY: one array per column through
// unnest, one statement per batch.
Rate bare_postgres_unnest(const std::string &dsn,
                          const std::vector<audit::Record> &rows,
                          std::size_t count, std::size_t prefill,
                          std::size_t batch) {
  auto connection = db::PostgresConnection::connect({dsn});
  if (!connection)
    fail(connection.error().message);
  auto &postgres = **connection;
  const std::string sql =
      std::string("INSERT INTO audit_records ") + k_bare_columns +
      " SELECT $1, * FROM unnest($2::bigint[], $3::bigint[], $4::text[],"
      " $5::text[], $6::text[], $7::text[], $8::integer[], $9::text[],"
      " $10::text[], $11::text[], $12::text[], $13::bigint[], $14::bigint[],"
      " $15::text[], $16::text[], $17::text[], $18::text[], $19::bigint[],"
      " $20::text[], $21::text[])";
  // the columns that are numbers, after chain
  const std::vector<bool> number{
      true,  true, false, false, false, false, true,  false, false, false,
      false, true, true,  false, false, false, false, true,  false, false};
  const auto insert = [&](std::size_t first, std::size_t last) {
    std::vector<std::vector<std::string>> columns(number.size());
    for (std::size_t i = first; i < last; ++i) {
      auto values = texts(rows[i]);
      for (std::size_t c = 0; c < values.size(); ++c)
        columns[c].push_back(std::move(values[c]));
    }
    std::vector<std::string> parameters{std::to_string(k_chain_id)};
    for (std::size_t c = 0; c < columns.size(); ++c)
      parameters.push_back(array_text(columns[c], !number[c]));
    if (auto done = postgres.execute(sql, parameters); !done) {
      std::fprintf(stderr, "insert: %s\n", done.error().message.c_str());
      return false;
    }
    return true;
  };
  return batched(count, prefill, batch, insert, backend(postgres, false));
}

// One COPY ... FROM STDIN per batch (its own transaction), through libpq.
Rate bare_postgres_copy(const std::string &dsn, const char *create,
                        const std::string &table,
                        const std::vector<audit::Record> &rows,
                        std::size_t count, std::size_t prefill,
                        std::size_t batch) {
  std::unique_ptr<PGconn, decltype(&PQfinish)> connection(
      PQconnectdb(dsn.c_str()), PQfinish);
  if (PQstatus(connection.get()) != CONNECTION_OK)
    fail(PQerrorMessage(connection.get()));
  auto *postgres = connection.get();
  if (create != nullptr) {
    std::unique_ptr<PGresult, decltype(&PQclear)> created(
        PQexec(postgres, create), PQclear);
    if (PQresultStatus(created.get()) != PGRES_COMMAND_OK)
      fail(PQerrorMessage(postgres));
  }
  const std::string copy =
      "COPY " + table + " " + k_bare_columns + " FROM STDIN";
  const auto result_ok = [&](PGresult *result, ExecStatusType expected) {
    const bool good = PQresultStatus(result) == expected;
    if (!good)
      std::fprintf(stderr, "copy: %s", PQerrorMessage(postgres));
    PQclear(result);
    return good;
  };
  const auto insert = [&](std::size_t first, std::size_t last) {
    if (!result_ok(PQexec(postgres, copy.c_str()), PGRES_COPY_IN))
      return false;
    std::string data;
    for (std::size_t i = first; i < last; ++i) {
      data += std::to_string(k_chain_id);
      for (const auto &text : texts(rows[i])) {
        data += '\t';
        db::PostgresConnection::copy_field(data, text);
      }
      data += '\n';
    }
    if (PQputCopyData(postgres, data.data(), static_cast<int>(data.size())) !=
            1 ||
        PQputCopyEnd(postgres, nullptr) != 1)
      return false;
    bool good = result_ok(PQgetResult(postgres), PGRES_COMMAND_OK);
    while (PGresult *more = PQgetResult(postgres))
      PQclear(more);
    return good;
  };
  return batched(count, prefill, batch, insert, PQbackendPID(postgres));
}

// The rates of one round: (a) the store; (b) the fastest bare way into its
// schema (SQLite: INSERT, PostgreSQL: COPY) and, PostgreSQL, the others;
// (c) the fastest bare way into a table with only the primary key.
struct Round {
  Rate store;
  Rate schema;
  Rate values; // PostgreSQL: INSERT ... VALUES
  Rate unnest; // PostgreSQL: INSERT ... SELECT FROM unnest
  Rate key_only;
};

// each rate the median of its own
Round median(const std::vector<Round> &rounds) {
  const auto middle = [&](Rate Round::*rate) {
    std::vector<Rate> rates;
    for (const auto &round : rounds)
      rates.push_back(round.*rate);
    std::sort(rates.begin(), rates.end(), [](const auto &a, const auto &b) {
      return a.per_second < b.per_second;
    });
    return rates[rates.size() / 2];
  };
  return Round{middle(&Round::store), middle(&Round::schema),
               middle(&Round::values), middle(&Round::unnest),
               middle(&Round::key_only)};
}

void print_line(const char *backend, const char *what, const Rate &rate) {
  std::printf("%-9s %-44s %10.0f %8.2f\n", backend, what, rate.per_second,
              rate.cpu_us());
}

void print(const char *backend, const Round &round, bool postgres) {
  print_line(backend, "(a) audit store append", round.store);
  if (postgres) {
    print_line(backend, "(b) bare COPY, audit schema", round.schema);
    print_line(backend, "    bare INSERT ... VALUES, audit schema",
               round.values);
    print_line(backend, "    bare INSERT ... unnest, audit schema",
               round.unnest);
    print_line(backend, "(c) bare COPY, primary key only", round.key_only);
  } else {
    print_line(backend, "(b) bare INSERT, audit schema", round.schema);
    print_line(backend, "(c) bare INSERT, primary key only", round.key_only);
  }
  const auto percent = [&](const Rate &bare) {
    return 100.0 * round.store.per_second / bare.per_second;
  };
  std::printf("%-9s a/b %.0f%%   a/c %.0f%%\n", backend, percent(round.schema),
              percent(round.key_only));
}

// a fresh directory under /tmp, removed when done
class Scratch {
public:
  Scratch() {
    char name[] = "/tmp/dovewarden-bench-audit-XXXXXX";
    if (::mkdtemp(name) == nullptr)
      fail("mkdtemp failed");
    m_path = name;
  }
  ~Scratch() { std::filesystem::remove_all(m_path); }
  const std::string &path() const { return m_path; }

private:
  std::string m_path;
};

Round sqlite_round(const std::vector<audit::Record> &source,
                   const std::vector<audit::Record> &rows, std::size_t count,
                   std::size_t prefill, std::size_t batch) {
  Round round;
  {
    Scratch scratch;
    auto store = audit::SqliteAuditStore::open(scratch.path(), k_chain);
    if (!store)
      fail(store.error().message);
    round.store = through_store(**store, source, count, prefill, batch);
  }
  {
    // the store's file with its schema, then the store closed: its lock
    // is exclusive
    Scratch scratch;
    if (auto store = audit::SqliteAuditStore::open(scratch.path(), k_chain);
        !store)
      fail(store.error().message);
    round.schema =
        bare_sqlite(scratch.path() + "/" + audit::SqliteAuditStore::k_file, "",
                    "audit_records", rows, count, prefill, batch);
  }
  {
    Scratch scratch;
    round.key_only = bare_sqlite(scratch.path() + "/bare.sqlite", k_bare_table,
                                 "bare_records", rows, count, prefill, batch);
  }
  return round;
}

Round postgres_round(test::PostgresServer &server, int number,
                     const std::vector<audit::Record> &source,
                     const std::vector<audit::Record> &rows, std::size_t count,
                     std::size_t prefill, std::size_t batch) {
  const auto database = [&](const char *what) {
    return server.create_database("bench" + std::to_string(number) + what);
  };
  // a fresh database with the store's schema and chain
  const auto migrated = [&](const char *what) {
    const std::string dsn = database(what);
    if (auto store = audit::PostgresAuditStore::open({dsn}, k_chain); !store)
      fail(store.error().message);
    return dsn;
  };
  Round round;
  {
    const std::string dsn = database("store");
    auto store = audit::PostgresAuditStore::open({dsn}, k_chain);
    if (!store)
      fail(store.error().message);
    auto watcher = db::PostgresConnection::connect({dsn});
    if (!watcher)
      fail(watcher.error().message);
    round.store = through_store(**store, source, count, prefill, batch,
                                backend(**watcher, true));
  }
  round.schema = bare_postgres_copy(migrated("copy"), nullptr, "audit_records",
                                    rows, count, prefill, batch);
  round.values = bare_postgres(migrated("values"), nullptr, "audit_records",
                               rows, count, prefill, batch);
  round.unnest =
      bare_postgres_unnest(migrated("unnest"), rows, count, prefill, batch);
  round.key_only =
      bare_postgres_copy(database("bare"), k_bare_table, "bare_records", rows,
                         count, prefill, batch);
  return round;
}

} // namespace

int main(int argc, char **argv) {
  const auto count =
      static_cast<std::size_t>(argc > 1 ? std::atoll(argv[1]) : 200000);
  const std::size_t batch =
      argc > 2 ? static_cast<std::size_t>(std::atoi(argv[2])) : 1000;
  const int rounds = argc > 3 ? std::atoi(argv[3]) : 3;
  const std::string only = argc > 4 ? argv[4] : "";
  const auto prefill =
      static_cast<std::size_t>(argc > 5 ? std::atoll(argv[5]) : 0);
  const auto source = make_records(static_cast<int>(prefill + count));
  const auto rows = linked(source);

  std::vector<Round> sqlite_rounds;
  for (int round = 0; round < rounds && only != "postgres"; ++round)
    sqlite_rounds.push_back(sqlite_round(source, rows, count, prefill, batch));

  // durable commits, as a production server has them
  std::unique_ptr<test::PostgresServer> server;
  if (only != "sqlite")
    server = std::make_unique<test::PostgresServer>(
        std::vector<std::string>{"fsync=on"});
  std::vector<Round> postgres_rounds;
  for (int round = 0; round < rounds && server; ++round)
    postgres_rounds.push_back(
        postgres_round(*server, round, source, rows, count, prefill, batch));

  std::printf("%zu records after %zu, batches of %zu, median of %d rounds\n",
              count, prefill, batch, rounds);
  std::printf("%-9s %-40s %10s %8s\n", "backend", "what", "rec/s", "CPU us");
  if (!sqlite_rounds.empty())
    print("sqlite", median(sqlite_rounds), false);
  if (!postgres_rounds.empty())
    print("postgres", median(postgres_rounds), true);
  return 0;
}
