#pragma once

#include "db/StoreFailure.hpp"

#include <tl/expected.hpp>

#include <sqlite3.h>

#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

namespace dovewarden::db {

// One SQLite database file (WAL) of a store, with a versioned schema, and
// the statement helpers the stores share. Not thread-safe: its store guards
// it with a mutex. Failures name the file; their kind follows SQLite's
// result code (busy, I/O, full: unavailable; a constraint: conflict).
class SqliteDatabase {
public:
  struct Finalize {
    void operator()(sqlite3_stmt *statement) const {
      sqlite3_finalize(statement);
    }
  };
  // default-constructible, so that a store's statements are a plain list
  using Statement = std::unique_ptr<sqlite3_stmt, Finalize>;

  // Opens directory/file, creating both if missing, and creates schema (as
  // version) in a new file. The directory is left mode 0700, the file and
  // its journals 0600 (util/PrivateFiles). Returns a failure if they cannot
  // be created or opened, or if the file's schema is newer than version
  // (corrupt).
  static Result<std::unique_ptr<SqliteDatabase>>
  open(const std::string &directory, const std::string &file,
       const char *schema, int version);

  SqliteDatabase(const SqliteDatabase &) = delete;
  SqliteDatabase &operator=(const SqliteDatabase &) = delete;
  ~SqliteDatabase();

  const std::string &path() const { return m_path; }
  sqlite3 *handle() const { return m_database.get(); }

  // Prepares sql into each statement, to be kept. Returns the first error.
  Result<void>
  prepare(std::initializer_list<std::pair<Statement *, const char *>> all);
  // Runs sql (several statements). Returns a failure if one fails.
  Result<void> execute(const char *sql);
  // Runs a statement that returns no rows to read; returns the rows it
  // changed, or a failure.
  Result<int> run(sqlite3_stmt *statement);
  // Begins a write transaction. Returns a failure if it cannot.
  Result<void> begin();
  // Commits; rolls back if that fails. Returns a failure if it failed.
  Result<void> commit();
  // Rolls back the transaction, if any.
  void rollback();
  // Writes a page in a transaction of its own (the schema version, set to
  // what it is). Returns a failure if the file takes no write.
  Result<void> write_probe();
  // Runs body (returning a Result) in a write transaction, committed if it
  // succeeds, rolled back if not. Returns its result, or the failure.
  template <typename Body> auto transaction(Body body) -> decltype(body()) {
    if (auto begun = begin(); !begun)
      return tl::unexpected(begun.error());
    auto result = body();
    if (!result) {
      rollback();
      return result;
    }
    if (auto committed = commit(); !committed)
      return tl::unexpected(committed.error());
    return result;
  }
  // Returns the failure of the last call, naming the file and what failed.
  StoreFailure error(const char *what) const;

  // Resets a statement and its bindings when a call is done with it, so
  // that no statement keeps a read transaction open.
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

private:
  using Database = std::unique_ptr<sqlite3, decltype(&sqlite3_close)>;

  SqliteDatabase(std::string path, Database database, int version);

  Result<Statement> prepare(const char *sql);
  Result<void> create_schema(const char *schema, int version);

  std::string m_path;
  Database m_database;
  int m_version;
  // declared after the database: finalized before it closes
  Statement m_begin;
  Statement m_commit;
  Statement m_rollback;
};

// The column and time helpers of the statements.
namespace sqlite {

// (not "bind": std::bind, found by ADL for a std::string, can win)
void bind_value(sqlite3_stmt *statement, int index, const std::string &text);
void bind_value(sqlite3_stmt *statement, int index, std::int64_t value);
// Binds bytes that are not text (no UTF-8 promise).
void bind_blob(sqlite3_stmt *statement, int index, const std::string &bytes);
// Returns a text or blob column ("" if NULL).
std::string column_text(sqlite3_stmt *statement, int column);
std::int64_t to_ms(std::chrono::system_clock::time_point time);
std::chrono::system_clock::time_point from_ms(std::int64_t ms);

} // namespace sqlite

} // namespace dovewarden::db
