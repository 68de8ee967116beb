#pragma once

#include "db/StoreFailure.hpp"

#include <string>
#include <vector>

namespace dovewarden::audit {

// The SQL of one audit store backend.
enum class SqlDialect { sqlite, postgres };

// One step of a backend's schema: daemon/audit/migrations/DIALECT/NNNN_*.sql,
// built into the program. Versions count 1, 2, 3, ...
struct Migration {
  int version = 0;
  std::string name; // the file's name, "0001_audit.sql"
  std::string sql;  // several statements
};

// Returns the dialect's migrations in version order.
const std::vector<Migration> &migrations(SqlDialect dialect);

// A database connection, as migrate() uses it.
class MigrationTarget {
public:
  virtual ~MigrationTarget() = default;

  // Names the database in failures (never with a password).
  virtual std::string describe() const = 0;
  // Begins a transaction that other connections migrating the same
  // database wait for.
  virtual db::Result<void> begin() = 0;
  // Runs sql (several statements) in it.
  virtual db::Result<void> execute(const std::string &sql) = 0;
  // Returns the highest version in audit_schema_migrations, 0 if none.
  virtual db::Result<int> applied_version() = 0;
  virtual db::Result<void> commit() = 0;
  virtual void rollback() = 0;
};

// Brings target's schema to the last of migrations: applies each one not
// yet recorded in audit_schema_migrations, in order, each in a transaction
// of its own with its record there. Returns a failure if one fails (that one
// rolled back), or if the database's schema is newer than migrations know
// (corrupt: an older program must not write to it).
db::Result<void> migrate(MigrationTarget &target,
                         const std::vector<Migration> &migrations);

namespace embedded {

// A file of daemon/audit/migrations/, as the generated source holds it.
struct MigrationFile {
  const char *dialect; // its directory: "sqlite", "postgres"
  const char *name;
  const char *sql;
};

// generated at build time (migrations/embed.sh)
extern const std::vector<MigrationFile> k_migration_files;

} // namespace embedded

} // namespace dovewarden::audit
