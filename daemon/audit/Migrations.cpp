#include "audit/Migrations.hpp"

#include "util/Fatal.hpp"

#include <algorithm>
#include <chrono>
#include <cstdlib>

namespace dovewarden::audit {

namespace {

constexpr const char *k_migrations_table = R"(
CREATE TABLE IF NOT EXISTS audit_schema_migrations (
  version INTEGER PRIMARY KEY,
  name TEXT NOT NULL,
  applied BIGINT NOT NULL
))";

const char *dialect_name(SqlDialect dialect) {
  return dialect == SqlDialect::sqlite ? "sqlite" : "postgres";
}

// The files are the repository's own: a misnamed one is a build mistake.
std::vector<Migration> load(SqlDialect dialect) {
  std::vector<Migration> found;
  for (const auto &file : embedded::k_migration_files) {
    if (std::string(file.dialect) != dialect_name(dialect))
      continue;
    Migration migration;
    // its leading digits; a file without is 0, which the loop below refuses
    // NOLINTNEXTLINE(bugprone-unchecked-string-to-number-conversion)
    migration.version = std::atoi(file.name);
    migration.name = file.name;
    migration.sql = file.sql;
    found.push_back(std::move(migration));
  }
  std::sort(found.begin(), found.end(),
            [](const Migration &a, const Migration &b) {
              return a.version < b.version;
            });
  for (std::size_t i = 0; i < found.size(); ++i) {
    if (found[i].version != static_cast<int>(i) + 1)
      throw util::Fatal(std::string("audit migrations of ") +
                        dialect_name(dialect) + ": " + found[i].name +
                        " should be number " + std::to_string(i + 1));
  }
  return found;
}

std::int64_t now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Applies migration unless it is applied; returns a failure if the
// database is ahead of the program.
db::Result<void> apply(MigrationTarget &target, const Migration &migration,
                       int latest) {
  if (auto begun = target.begin(); !begun)
    return begun;
  auto run = [&]() -> db::Result<void> {
    if (auto made = target.execute(k_migrations_table); !made)
      return made;
    auto applied = target.applied_version();
    if (!applied)
      return tl::unexpected(applied.error());
    if (*applied > latest) {
      return db::corrupt(
          target.describe() + " has audit schema version " +
          std::to_string(*applied) + ", newer than this dovewardend knows (" +
          std::to_string(latest) + "): run the newer dovewardend");
    }
    if (*applied >= migration.version)
      return {};
    if (auto done = target.execute(migration.sql); !done) {
      auto failure = done.error();
      failure.message = migration.name + ": " + failure.message;
      return tl::unexpected(failure);
    }
    return target.execute(
        "INSERT INTO audit_schema_migrations (version, name, applied) "
        "VALUES (" +
        std::to_string(migration.version) + ", '" + migration.name + "', " +
        std::to_string(now_us()) + ")");
  };
  if (auto done = run(); !done) {
    target.rollback();
    return done;
  }
  return target.commit();
}

} // namespace

const std::vector<Migration> &migrations(SqlDialect dialect) {
  static const std::vector<Migration> sqlite = load(SqlDialect::sqlite);
  static const std::vector<Migration> postgres = load(SqlDialect::postgres);
  return dialect == SqlDialect::sqlite ? sqlite : postgres;
}

db::Result<void> migrate(MigrationTarget &target,
                         const std::vector<Migration> &migrations) {
  const int latest = migrations.empty() ? 0 : migrations.back().version;
  for (const auto &migration : migrations)
    if (auto applied = apply(target, migration, latest); !applied)
      return applied;
  return {};
}

} // namespace dovewarden::audit
