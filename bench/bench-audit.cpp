// How fast the audit stores take records: N records through
// AuditStore::append, linked by audit::link (SHA-256) in batches of the
// default size, into a fresh SQLite store and a PostgreSQL server of its own,
// side by side with a bare batched INSERT of the same rows into the same
// database (no hashing, no index but the primary key).
//
//   bench-audit [RECORDS] [BATCH] [ROUNDS] [sqlite|postgres]
//   (defaults: 200000 1000 3, both)
//
// Each round uses a fresh database; the median round is shown.

#include "CpuTime.hpp"
#include "PostgresServer.hpp"
#include "audit/Chain.hpp"
#include "audit/PostgresAuditStore.hpp"
#include "audit/SqliteAuditStore.hpp"
#include "db/PostgresConnection.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
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

// Returns the pid of the backend serving the other connection of the
// database (the store's), or of this one.
pid_t backend(db::PostgresConnection &connection, bool other) {
  auto rows = connection.execute(
      other ? "SELECT pid FROM pg_stat_activity WHERE datname = "
              "current_database() AND pid <> pg_backend_pid() AND "
              "backend_type = 'client backend'"
            : "SELECT pg_backend_pid()");
  if (!rows || rows->size() != 1) {
    std::fprintf(stderr, "cannot find the backend\n");
    std::exit(1);
  }
  return static_cast<pid_t>(rows->number(0, 0));
}

// The writer's work: link each batch after the head, append it with the
// mark of its instance.
Rate through_store(audit::AuditStore &store,
                   const std::vector<audit::Record> &source, std::size_t batch,
                   pid_t server = -1) {
  return timed(
      source.size(),
      [&] {
        auto head = store.head();
        if (!head) {
          std::fprintf(stderr, "head: %s\n", head.error().message.c_str());
          return false;
        }
        std::uint64_t seq = head->seq;
        std::string hash = head->hash;
        for (std::size_t first = 0; first < source.size(); first += batch) {
          const auto last = std::min(source.size(), first + batch);
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
        }
        return true;
      },
      server);
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

// A prepared INSERT per row, a transaction per batch, the store's pragmas.
Rate bare_sqlite(const std::string &path,
                 const std::vector<audit::Record> &rows, std::size_t batch) {
  sqlite3 *database = nullptr;
  sqlite3_open(path.c_str(), &database);
  const std::string schema =
      "PRAGMA locking_mode = EXCLUSIVE; PRAGMA journal_mode = WAL;"
      "PRAGMA synchronous = NORMAL; PRAGMA cache_size = -65536;"
      "CREATE TABLE bare_records (chain INTEGER NOT NULL, seq INTEGER NOT NULL,"
      " time INTEGER, operation TEXT, \"user\" TEXT, actor TEXT, ip TEXT,"
      " port INTEGER, session TEXT, service TEXT, mailbox TEXT,"
      " mailbox_guid TEXT, uid INTEGER, uidvalidity INTEGER, msgid TEXT,"
      " outcome TEXT, details TEXT, inst TEXT, event_seq INTEGER,"
      " prev_hash TEXT, hash TEXT, PRIMARY KEY (chain, seq)) WITHOUT ROWID";
  if (!sqlite_ok(
          database,
          sqlite3_exec(database, schema.c_str(), nullptr, nullptr, nullptr),
          "schema"))
    std::exit(1);
  std::string sql =
      std::string("INSERT INTO bare_records ") + k_bare_columns + " VALUES (?1";
  for (int i = 2; i <= 21; ++i)
    sql += ", ?" + std::to_string(i);
  sql += ")";
  sqlite3_stmt *insert = nullptr;
  sqlite3_prepare_v2(database, sql.c_str(), -1, &insert, nullptr);
  const Rate rate = timed(rows.size(), [&] {
    for (std::size_t first = 0; first < rows.size(); first += batch) {
      sqlite3_exec(database, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr);
      const auto last = std::min(rows.size(), first + batch);
      for (std::size_t i = first; i < last; ++i) {
        const auto &r = rows[i];
        sqlite3_bind_int64(insert, 1, k_chain_id);
        sqlite3_bind_int64(insert, 2, static_cast<sqlite3_int64>(r.seq));
        sqlite3_bind_int64(insert, 3, r.time);
        sqlite3_bind_text(insert, 4, r.operation.c_str(), -1, SQLITE_STATIC);
        sqlite3_bind_text(insert, 5, r.user.c_str(), -1, SQLITE_STATIC);
        sqlite3_bind_text(insert, 6, r.actor.c_str(), -1, SQLITE_STATIC);
        sqlite3_bind_text(insert, 7, r.ip.c_str(), -1, SQLITE_STATIC);
        sqlite3_bind_int64(insert, 8, r.port);
        sqlite3_bind_text(insert, 9, r.session.c_str(), -1, SQLITE_STATIC);
        sqlite3_bind_text(insert, 10, r.service.c_str(), -1, SQLITE_STATIC);
        sqlite3_bind_text(insert, 11, r.mailbox.c_str(), -1, SQLITE_STATIC);
        sqlite3_bind_text(insert, 12, r.mailbox_guid.c_str(), -1,
                          SQLITE_STATIC);
        sqlite3_bind_int64(insert, 13, r.uid);
        sqlite3_bind_int64(insert, 14, r.uidvalidity);
        sqlite3_bind_text(insert, 15, r.msgid.c_str(), -1, SQLITE_STATIC);
        sqlite3_bind_text(insert, 16, r.outcome.c_str(), -1, SQLITE_STATIC);
        sqlite3_bind_text(insert, 17, r.details.c_str(), -1, SQLITE_STATIC);
        sqlite3_bind_text(insert, 18, r.inst.c_str(), -1, SQLITE_STATIC);
        sqlite3_bind_int64(insert, 19, static_cast<sqlite3_int64>(r.event_seq));
        sqlite3_bind_text(insert, 20, r.prev_hash.c_str(), -1, SQLITE_STATIC);
        sqlite3_bind_text(insert, 21, r.hash.c_str(), -1, SQLITE_STATIC);
        const int rc = sqlite3_step(insert);
        sqlite3_reset(insert);
        if (!sqlite_ok(database, rc, "insert"))
          return false;
      }
      if (!sqlite_ok(
              database,
              sqlite3_exec(database, "COMMIT", nullptr, nullptr, nullptr),
              "commit"))
        return false;
    }
    return true;
  });
  sqlite3_finalize(insert);
  sqlite3_close(database);
  return rate;
}

// One multi-row INSERT ... VALUES per batch, text parameters: one round trip.
Rate bare_postgres(const std::string &dsn,
                   const std::vector<audit::Record> &rows, std::size_t batch) {
  auto connection = db::PostgresConnection::connect({dsn});
  if (!connection ||
      !(*connection)
           ->execute_script(
               "CREATE TABLE bare_records (chain INTEGER NOT NULL,"
               " seq BIGINT NOT NULL, time BIGINT, operation TEXT,"
               " \"user\" TEXT, actor TEXT, ip TEXT, port INTEGER,"
               " session TEXT, service TEXT, mailbox TEXT, mailbox_guid TEXT,"
               " uid BIGINT, uidvalidity BIGINT, msgid TEXT, outcome TEXT,"
               " details TEXT, inst TEXT, event_seq BIGINT, prev_hash TEXT,"
               " hash TEXT, PRIMARY KEY (chain, seq))")) {
    std::fprintf(stderr, "cannot create the bare table\n");
    std::exit(1);
  }
  auto &postgres = **connection;
  const pid_t server = backend(postgres, false);
  return timed(
      rows.size(),
      [&] {
        for (std::size_t first = 0; first < rows.size(); first += batch) {
          const auto last = std::min(rows.size(), first + batch);
          std::string sql = std::string("INSERT INTO bare_records ") +
                            k_bare_columns + " VALUES ";
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
        }
        return true;
      },
      server);
}

struct Result {
  Rate audit;
  Rate bare;
};

Result median(std::vector<Result> rounds) {
  std::sort(rounds.begin(), rounds.end(), [](const auto &a, const auto &b) {
    return a.audit.per_second < b.audit.per_second;
  });
  Result middle = rounds[rounds.size() / 2];
  std::sort(rounds.begin(), rounds.end(), [](const auto &a, const auto &b) {
    return a.bare.per_second < b.bare.per_second;
  });
  middle.bare = rounds[rounds.size() / 2].bare;
  return middle;
}

// CPU: of this process + of the PostgreSQL backend, µs per record
void print(const char *backend, const Result &result) {
  const auto cpu = [](const Rate &rate) {
    return rate.client_us + rate.server_us;
  };
  std::printf("%-10s %12.0f %8.2f %12.0f %8.2f %7.0f%% %9.0f%%\n", backend,
              result.audit.per_second, cpu(result.audit),
              result.bare.per_second, cpu(result.bare),
              100.0 * result.audit.per_second / result.bare.per_second,
              100.0 * cpu(result.bare) / cpu(result.audit));
}

} // namespace

int main(int argc, char **argv) {
  const int count = argc > 1 ? std::atoi(argv[1]) : 200000;
  const std::size_t batch =
      argc > 2 ? static_cast<std::size_t>(std::atoi(argv[2])) : 1000;
  const int rounds = argc > 3 ? std::atoi(argv[3]) : 3;
  const std::string only = argc > 4 ? argv[4] : "";
  const auto source = make_records(count);
  const auto rows = linked(source);

  std::vector<Result> sqlite_rounds;
  for (int round = 0; round < rounds && only != "postgres"; ++round) {
    char name[] = "/tmp/dovewarden-bench-audit-XXXXXX";
    if (::mkdtemp(name) == nullptr)
      return 1;
    const std::string directory = name;
    Result result;
    {
      auto store = audit::SqliteAuditStore::open(directory + "/store", k_chain);
      if (!store) {
        std::fprintf(stderr, "%s\n", store.error().message.c_str());
        return 1;
      }
      result.audit = through_store(**store, source, batch);
    }
    result.bare = bare_sqlite(
        directory + "/store/" + audit::SqliteAuditStore::k_file, rows, batch);
    std::filesystem::remove_all(directory);
    sqlite_rounds.push_back(result);
  }

  // durable commits, as a production server has them
  std::unique_ptr<test::PostgresServer> server;
  if (only != "sqlite")
    server = std::make_unique<test::PostgresServer>(
        std::vector<std::string>{"fsync=on"});
  std::vector<Result> postgres_rounds;
  for (int round = 0; round < rounds && server; ++round) {
    const std::string dsn =
        server->create_database("bench" + std::to_string(round));
    Result result;
    {
      auto store = audit::PostgresAuditStore::open({dsn}, k_chain);
      if (!store) {
        std::fprintf(stderr, "%s\n", store.error().message.c_str());
        return 1;
      }
      auto watcher = db::PostgresConnection::connect({dsn});
      if (!watcher)
        return 1;
      result.audit =
          through_store(**store, source, batch, backend(**watcher, true));
    }
    result.bare = bare_postgres(dsn, rows, batch);
    postgres_rounds.push_back(result);
  }

  std::printf("%d records, batches of %zu, median of %d rounds\n", count, batch,
              rounds);
  std::printf("%-10s %12s %8s %12s %8s %8s %10s\n", "store", "audit rec/s",
              "CPU us", "bare rec/s", "CPU us", "ratio", "CPU ratio");
  if (!sqlite_rounds.empty())
    print("sqlite", median(sqlite_rounds));
  if (!postgres_rounds.empty())
    print("postgres", median(postgres_rounds));
  return 0;
}
