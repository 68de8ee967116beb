#pragma once

#include "audit/AuditStore.hpp"
#include "audit/Migrations.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
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

// Returns the first of found, if any.
template <typename T>
db::Result<std::optional<T>> first_of(db::Result<std::vector<T>> found) {
  if (!found)
    return tl::unexpected(found.error());
  if (found->empty())
    return std::nullopt;
  return std::move(found->front());
}

// Returns the chain's head: its last record, or else the retention base,
// or else the genesis.
Head head_of(std::optional<Head> last, const std::optional<Checkpoint> &base);

// Returns the SELECT of k_record_columns that answers query in the chain of
// that id (audit_chains): each filter a condition an index of the schema
// serves, in seq order.
SqlStatement select_records(SqlDialect dialect, std::int64_t chain_id,
                            const Query &query);

} // namespace dovewarden::audit
