#include "audit/RecordSql.hpp"

#include "audit/Chain.hpp"

#include <utility>

namespace dovewarden::audit {

const char *const k_record_columns =
    "seq, time, operation, \"user\", actor, ip, port, session, service, "
    "mailbox, mailbox_guid, uid, uidvalidity, msgid, outcome, details, inst, "
    "event_seq, prev_hash, hash";

namespace {

class Builder {
public:
  explicit Builder(SqlDialect dialect) : m_dialect(dialect) {}

  // Adds "AND <column> <op> <parameter>".
  void where(const char *column, const char *op,
             SqlStatement::Parameter value) {
    m_statement.parameters.push_back(std::move(value));
    m_statement.sql += std::string(" AND ") + column + " " + op + " " +
                       placeholder(m_statement.parameters.size());
  }
  void append(const std::string &sql) { m_statement.sql += sql; }
  SqlStatement take() { return std::move(m_statement); }

private:
  std::string placeholder(std::size_t number) const {
    return (m_dialect == SqlDialect::sqlite ? "?" : "$") +
           std::to_string(number);
  }

  SqlDialect m_dialect;
  SqlStatement m_statement;
};

// "message.*" -> the range ["message.", "message/"): an index serves it
void where_operation(Builder &builder, const std::string &operation) {
  if (operation.empty() || operation.back() != '*') {
    builder.where("operation", "=", operation);
    return;
  }
  const std::string prefix = operation.substr(0, operation.size() - 1);
  if (prefix.empty())
    return;
  std::string after = prefix;
  while (!after.empty() && static_cast<unsigned char>(after.back()) == 0xff)
    after.pop_back();
  builder.where("operation", ">=", prefix);
  if (!after.empty()) {
    after.back() = static_cast<char>(after.back() + 1);
    builder.where("operation", "<", after);
  }
}

std::int64_t signed_of(std::uint64_t value) {
  return static_cast<std::int64_t>(value);
}

} // namespace

Head head_of(std::optional<Head> last, const std::optional<Checkpoint> &base) {
  if (last)
    return std::move(*last);
  if (base)
    return Head{base->size, base->hash};
  return Head{0, k_genesis_hash};
}

SqlStatement select_records(SqlDialect dialect, std::int64_t chain_id,
                            const Query &query) {
  Builder builder(dialect);
  builder.append(std::string("SELECT ") + k_record_columns +
                 " FROM audit_records");
  // SQLite cannot tell a narrow time range from a wide one, and would read
  // every record before `since` in seq order; the first page reads the
  // range instead, and the next ones, after it, start where it ends
  const bool time_only = query.user.empty() && query.operation.empty() &&
                         query.mailbox.empty() && query.ip.empty() &&
                         query.msgid.empty();
  if (dialect == SqlDialect::sqlite && time_only && query.since &&
      query.after == 0)
    builder.append(" INDEXED BY audit_records_time");
  builder.append(" WHERE true");
  builder.where("chain", "=", chain_id);
  if (query.after > 0)
    builder.where("seq", ">", signed_of(query.after));
  if (!query.user.empty())
    builder.where("\"user\"", "=", query.user);
  if (!query.operation.empty())
    where_operation(builder, query.operation);
  if (query.since)
    builder.where("time", ">=", *query.since);
  if (query.until)
    builder.where("time", "<", *query.until);
  // the partial indexes hold the rows where the field is set
  if (!query.mailbox.empty()) {
    builder.where("mailbox", "=", query.mailbox);
    builder.append(" AND mailbox <> ''");
  }
  if (!query.ip.empty()) {
    builder.where("ip", "=", query.ip);
    builder.append(" AND ip <> ''");
  }
  if (!query.msgid.empty()) {
    builder.where("msgid", "=", query.msgid);
    builder.append(" AND msgid <> ''");
  }
  builder.append(" ORDER BY seq LIMIT " + std::to_string(query.limit));
  return builder.take();
}

} // namespace dovewarden::audit
