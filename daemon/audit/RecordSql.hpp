#pragma once

#include "audit/AuditStore.hpp"
#include "audit/Migrations.hpp"

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

namespace dovewarden::audit {

// The columns of audit_records in the order of Record's fields.
extern const char *const k_record_columns;

// A statement with its parameters, numbered from 1 in the dialect's way
// (SQLite ?N, PostgreSQL $N).
struct SqlStatement {
  using Parameter = std::variant<std::string, std::int64_t>;
  std::string sql;
  std::vector<Parameter> parameters;
};

// Returns the SELECT of k_record_columns that answers query in the chain of
// that id (audit_chains): each filter a condition an index of the schema
// serves, in seq order.
SqlStatement select_records(SqlDialect dialect, std::int64_t chain_id,
                            const Query &query);

} // namespace dovewarden::audit
