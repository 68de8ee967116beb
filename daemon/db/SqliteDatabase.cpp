#include "db/SqliteDatabase.hpp"

#include "util/PrivateFiles.hpp"
#include "util/Strings.hpp"

namespace dovewarden::db {

namespace {

constexpr int k_busy_timeout_ms = 1000;

// busy, locked, I/O errors, a full disk, no memory, a file that cannot be
// opened and the rest may pass: unavailable
StoreFailure::Kind kind_of(int code) {
  switch (code & 0xff) {
  case SQLITE_CONSTRAINT:
    return StoreFailure::Kind::conflict;
  case SQLITE_CORRUPT:
  case SQLITE_NOTADB:
    return StoreFailure::Kind::corrupt;
  case SQLITE_MISMATCH:
  case SQLITE_MISUSE:
  case SQLITE_RANGE:
  case SQLITE_TOOBIG:
    return StoreFailure::Kind::invalid;
  default:
    return StoreFailure::Kind::unavailable;
  }
}

// The store holds webhook secrets: its directory 0700, the database and
// its journals 0600. SQLite gives a journal it creates the database's mode.
tl::expected<void, std::string> private_files(const std::string &directory,
                                              const std::string &path) {
  if (auto made = util::make_private_directory(directory); !made)
    return made;
  if (auto made = util::make_private_file(path); !made)
    return made;
  for (const char *journal : {"-wal", "-shm", "-journal"})
    if (auto made = util::make_private_if_present(path + journal); !made)
      return made;
  return {};
}

} // namespace

Result<std::unique_ptr<SqliteDatabase>>
SqliteDatabase::open(const std::string &directory, const std::string &file,
                     const char *schema, int version) {
  const std::string path = directory + "/" + file;
  if (auto made = private_files(directory, path); !made)
    return unavailable(made.error());
  sqlite3 *raw = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &raw,
                                 SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
                                     SQLITE_OPEN_NOMUTEX,
                                 nullptr);
  Database database(raw, sqlite3_close);
  if (rc != SQLITE_OK) {
    return tl::unexpected(StoreFailure{
        kind_of(rc),
        "cannot open " + util::quote(path) + ": " +
            (raw != nullptr ? sqlite3_errmsg(raw) : sqlite3_errstr(rc))});
  }
  std::unique_ptr<SqliteDatabase> opened(
      new SqliteDatabase(path, std::move(database), version));
  sqlite3_busy_timeout(opened->handle(), k_busy_timeout_ms);
  // One daemon owns the file: the lock taken once, not around every
  // transaction (file-lock system calls), and a second daemon on the same
  // directory is refused instead of sharing it unknowingly.
  for (const char *pragma :
       {"PRAGMA locking_mode = EXCLUSIVE", "PRAGMA journal_mode = WAL",
        "PRAGMA synchronous = NORMAL", "PRAGMA cache_size = -65536",
        "PRAGMA wal_autocheckpoint = 10000"}) {
    if (auto done = opened->execute(pragma); !done)
      return tl::unexpected(done.error());
  }
  if (auto created = opened->create_schema(schema, version); !created)
    return tl::unexpected(created.error());
  if (auto prepared = opened->prepare({{&opened->m_begin, "BEGIN IMMEDIATE"},
                                       {&opened->m_commit, "COMMIT"},
                                       {&opened->m_rollback, "ROLLBACK"}});
      !prepared)
    return tl::unexpected(prepared.error());
  return opened;
}

SqliteDatabase::SqliteDatabase(std::string path, Database database, int version)
    : m_path(std::move(path)), m_database(std::move(database)),
      m_version(version) {}

SqliteDatabase::~SqliteDatabase() = default;

Result<void> SqliteDatabase::create_schema(const char *schema, int version) {
  auto statement = prepare("PRAGMA user_version");
  if (!statement)
    return tl::unexpected(statement.error());
  if (sqlite3_step(statement->get()) != SQLITE_ROW)
    return tl::unexpected(error("PRAGMA user_version"));
  const int found = sqlite3_column_int(statement->get(), 0);
  statement->reset();
  if (found > version) {
    return corrupt(util::quote(m_path) + " has schema version " +
                   std::to_string(found) + ", newer than this dovewardend " +
                   "knows (" + std::to_string(version) +
                   "): run the newer dovewardend or move the file away");
  }
  if (found != 0)
    return {};
  const std::string create =
      std::string("BEGIN IMMEDIATE;") + schema +
      "PRAGMA user_version = " + std::to_string(version) + ";COMMIT;";
  if (auto done = execute(create.c_str()); !done) {
    execute("ROLLBACK");
    return tl::unexpected(done.error());
  }
  return {};
}

Result<SqliteDatabase::Statement> SqliteDatabase::prepare(const char *sql) {
  sqlite3_stmt *raw = nullptr;
  if (sqlite3_prepare_v3(m_database.get(), sql, -1, SQLITE_PREPARE_PERSISTENT,
                         &raw, nullptr) != SQLITE_OK) {
    return tl::unexpected(error("prepare"));
  }
  return Statement(raw);
}

Result<void> SqliteDatabase::prepare(
    std::initializer_list<std::pair<Statement *, const char *>> all) {
  for (const auto &[statement, sql] : all) {
    auto prepared = prepare(sql);
    if (!prepared)
      return tl::unexpected(prepared.error());
    *statement = std::move(*prepared);
  }
  return {};
}

Result<void> SqliteDatabase::execute(const char *sql) {
  char *message = nullptr;
  const int rc =
      sqlite3_exec(m_database.get(), sql, nullptr, nullptr, &message);
  if (rc != SQLITE_OK) {
    std::string text = m_path + ": " + (message ? message : "unknown error");
    sqlite3_free(message);
    return tl::unexpected(StoreFailure{kind_of(rc), std::move(text)});
  }
  return {};
}

Result<int> SqliteDatabase::run(sqlite3_stmt *statement) {
  const Reset reset(statement);
  int rc;
  while ((rc = sqlite3_step(statement)) == SQLITE_ROW) {
  }
  if (rc != SQLITE_DONE)
    return tl::unexpected(error(sqlite3_sql(statement)));
  return sqlite3_changes(m_database.get());
}

Result<void> SqliteDatabase::begin() {
  auto begun = run(m_begin.get());
  if (!begun)
    return tl::unexpected(begun.error());
  return {};
}

Result<void> SqliteDatabase::commit() {
  if (auto committed = run(m_commit.get()); !committed) {
    rollback();
    return tl::unexpected(committed.error());
  }
  return {};
}

void SqliteDatabase::rollback() {
  if (!sqlite3_get_autocommit(m_database.get()))
    run(m_rollback.get());
}

Result<void> SqliteDatabase::write_probe() {
  const std::string sql =
      "PRAGMA user_version = " + std::to_string(m_version) + ";";
  return transaction([&] { return execute(sql.c_str()); });
}

StoreFailure SqliteDatabase::error(const char *what) const {
  std::string text = what;
  const auto start = text.find_first_not_of(" \n");
  text = text.substr(start == std::string::npos ? 0 : start);
  text = text.substr(0, text.find_first_of(" \n"));
  return StoreFailure{kind_of(sqlite3_extended_errcode(m_database.get())),
                      m_path + ": " + text +
                          " failed: " + sqlite3_errmsg(m_database.get())};
}

namespace sqlite {

void bind_value(sqlite3_stmt *statement, int index, const std::string &text) {
  sqlite3_bind_text(statement, index, text.data(),
                    static_cast<int>(text.size()), SQLITE_STATIC);
}

void bind_value(sqlite3_stmt *statement, int index, std::int64_t value) {
  sqlite3_bind_int64(statement, index, value);
}

void bind_blob(sqlite3_stmt *statement, int index, const std::string &bytes) {
  sqlite3_bind_blob(statement, index, bytes.data(),
                    static_cast<int>(bytes.size()), SQLITE_STATIC);
}

std::string column_text(sqlite3_stmt *statement, int column) {
  const auto *bytes = sqlite3_column_blob(statement, column);
  if (bytes == nullptr)
    return {};
  return std::string(
      static_cast<const char *>(bytes),
      static_cast<std::size_t>(sqlite3_column_bytes(statement, column)));
}

std::int64_t to_ms(std::chrono::system_clock::time_point time) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             time.time_since_epoch())
      .count();
}

std::chrono::system_clock::time_point from_ms(std::int64_t ms) {
  return std::chrono::system_clock::time_point(std::chrono::milliseconds(ms));
}

} // namespace sqlite

} // namespace dovewarden::db
