#include "db/PostgresConnection.hpp"

#include <libpq-fe.h>
#include <poll.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <sstream>
#include <utility>

namespace dovewarden::db {

namespace {

using ConninfoOptions =
    std::unique_ptr<PQconninfoOption, decltype(&PQconninfoFree)>;

// Returns the DSN's options, or nothing if it is not a DSN. libpq's error
// text is left out: it may quote the DSN, password and all.
ConninfoOptions parse(const std::string &dsn) {
  char *error = nullptr;
  ConninfoOptions options(PQconninfoParse(dsn.c_str(), &error), PQconninfoFree);
  if (error != nullptr)
    PQfreemem(error);
  return options;
}

std::string describe_options(const PQconninfoOption *options) {
  std::string user, host, port, database;
  for (const auto *option = options; option->keyword != nullptr; ++option) {
    if (option->val == nullptr)
      continue;
    const std::string keyword = option->keyword;
    if (keyword == "user")
      user = option->val;
    else if (keyword == "host" || (keyword == "hostaddr" && host.empty()))
      host = option->val;
    else if (keyword == "port")
      port = option->val;
    else if (keyword == "dbname")
      database = option->val;
  }
  std::string text = "postgresql://";
  if (!user.empty())
    text += user + "@";
  text += host;
  if (!port.empty())
    text += ":" + port;
  return text + "/" + database;
}

// The SQLSTATE classes of a server that cannot take the call now:
// connection (08), resources (53), operator intervention and timeouts
// (57), system errors (58), transaction rollback (40).
StoreFailure::Kind kind_of(const char *sqlstate) {
  if (sqlstate == nullptr || std::strlen(sqlstate) != 5)
    return StoreFailure::Kind::unavailable;
  const std::string state = sqlstate;
  const std::string category = state.substr(0, 2);
  if (category == "23")
    return StoreFailure::Kind::conflict;
  if (category == "22" || state == "42601" || state == "42804")
    return StoreFailure::Kind::invalid;
  if (category == "42" || category == "XX")
    return StoreFailure::Kind::corrupt;
  return StoreFailure::Kind::unavailable;
}

bool failed_result(const PGresult *result) {
  const auto status = PQresultStatus(result);
  return status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK;
}

// libpq's messages span lines, each ending in a newline: one line of them
std::string one_line(const char *message) {
  std::string text;
  std::istringstream lines(message != nullptr ? message : "");
  for (std::string line; std::getline(lines, line);) {
    const auto first = line.find_first_not_of(" \t");
    if (first == std::string::npos)
      continue;
    const auto last = line.find_last_not_of(" \t");
    if (!text.empty())
      text += "; ";
    text += line.substr(first, last - first + 1);
  }
  return text.empty() ? "no answer" : text;
}

// a notice ("relation ... already exists, skipping") is no failure
void ignore_notice(void *, const char *) {}

} // namespace

PostgresConnection::Rows::Rows(pg_result *result) : m_result(result) {}

PostgresConnection::Rows::Rows(Rows &&other) noexcept
    : m_result(std::exchange(other.m_result, nullptr)) {}

PostgresConnection::Rows &
PostgresConnection::Rows::operator=(Rows &&other) noexcept {
  std::swap(m_result, other.m_result);
  return *this;
}

PostgresConnection::Rows::~Rows() {
  if (m_result != nullptr)
    PQclear(m_result);
}

int PostgresConnection::Rows::size() const { return PQntuples(m_result); }

std::string PostgresConnection::Rows::text(int row, int column) const {
  return std::string(
      PQgetvalue(m_result, row, column),
      static_cast<std::size_t>(PQgetlength(m_result, row, column)));
}

std::int64_t PostgresConnection::Rows::number(int row, int column) const {
  return std::strtoll(PQgetvalue(m_result, row, column), nullptr, 10);
}

std::uint64_t PostgresConnection::Rows::changed() const {
  return std::strtoull(PQcmdTuples(m_result), nullptr, 10);
}

Result<std::unique_ptr<PostgresConnection>>
PostgresConnection::connect(Options options) {
  const auto parsed = parse(options.dsn);
  if (!parsed)
    return invalid("the audit DSN is not a libpq connection string or URI");
  std::unique_ptr<PostgresConnection> connection(new PostgresConnection(
      std::move(options), describe_options(parsed.get())));
  if (auto made = connection->connected(); !made)
    return tl::unexpected(made.error());
  return connection;
}

std::string PostgresConnection::redacted(const std::string &dsn) {
  const auto parsed = parse(dsn);
  if (!parsed)
    return "(not a libpq connection string)";
  std::string text;
  for (const auto *option = parsed.get(); option->keyword != nullptr;
       ++option) {
    if (option->val == nullptr || *option->val == '\0')
      continue;
    const std::string keyword = option->keyword;
    std::string value = keyword == "password" ? "***" : option->val;
    if (!text.empty())
      text += ' ';
    text += keyword;
    text += '=';
    text += value;
  }
  return text;
}

PostgresConnection::PostgresConnection(Options options, std::string describe)
    : m_options(std::move(options)), m_describe(std::move(describe)) {}

PostgresConnection::~PostgresConnection() {
  if (m_connection != nullptr)
    PQfinish(m_connection);
}

Result<void> PostgresConnection::connected() {
  if (m_connection != nullptr && PQstatus(m_connection) == CONNECTION_OK)
    return {};
  if (m_connection != nullptr) {
    PQfinish(m_connection);
    m_connection = nullptr;
  }
  // the DSN, last, overrides these defaults
  const std::string connect_timeout =
      std::to_string(m_options.connect_timeout.count());
  const std::string user_timeout = std::to_string(k_user_timeout.count());
  const char *keywords[] = {"connect_timeout",
                            "tcp_user_timeout",
                            "keepalives_idle",
                            "keepalives_interval",
                            "application_name",
                            "dbname",
                            nullptr};
  const char *values[] = {
      connect_timeout.c_str(), user_timeout.c_str(),  "30",   "10",
      "dovewardend",           m_options.dsn.c_str(), nullptr};
  m_connection = PQconnectdbParams(keywords, values, 1);
  if (PQstatus(m_connection) != CONNECTION_OK)
    return tl::unexpected(failure(nullptr));
  PQsetNoticeProcessor(m_connection, ignore_notice, nullptr);
  const std::string settings =
      "SET statement_timeout = " +
      std::to_string(m_options.statement_timeout.count());
  if (PQsendQuery(m_connection, settings.c_str()) == 0)
    return tl::unexpected(failure(nullptr));
  auto set = answer();
  if (!set)
    return tl::unexpected(set.error());
  return {};
}

StoreFailure PostgresConnection::failure(pg_result *result) {
  const bool lost =
      m_connection == nullptr || PQstatus(m_connection) != CONNECTION_OK;
  StoreFailure failed;
  if (lost || result == nullptr) {
    failed.kind = StoreFailure::Kind::unavailable;
    failed.message = m_describe + ": " + one_line(PQerrorMessage(m_connection));
  } else {
    // the primary message only: the detail may quote the rows' values
    failed.kind = kind_of(PQresultErrorField(result, PG_DIAG_SQLSTATE));
    failed.message =
        m_describe + ": " +
        one_line(PQresultErrorField(result, PG_DIAG_MESSAGE_PRIMARY));
  }
  if (lost && m_connection != nullptr) {
    PQfinish(m_connection);
    m_connection = nullptr;
  }
  return failed;
}

Result<PostgresConnection::Rows>
PostgresConnection::execute(const std::string &sql,
                            const std::vector<std::string> &parameters) {
  if (auto made = connected(); !made)
    return tl::unexpected(made.error());
  std::vector<const char *> values;
  values.reserve(parameters.size());
  for (const auto &parameter : parameters)
    values.push_back(parameter.c_str());
  if (PQsendQueryParams(m_connection, sql.c_str(),
                        static_cast<int>(values.size()), nullptr, values.data(),
                        nullptr, nullptr, 0) == 0)
    return tl::unexpected(failure(nullptr));
  return answer();
}

Result<void> PostgresConnection::execute_script(const std::string &sql) {
  if (auto made = connected(); !made)
    return tl::unexpected(made.error());
  if (PQsendQuery(m_connection, sql.c_str()) == 0)
    return tl::unexpected(failure(nullptr));
  auto rows = answer();
  if (!rows)
    return tl::unexpected(rows.error());
  return {};
}

Result<void> PostgresConnection::copy_in(const std::string &sql,
                                         const std::string &data) {
  if (auto made = connected(); !made)
    return tl::unexpected(made.error());
  if (PQsendQuery(m_connection, sql.c_str()) == 0)
    return tl::unexpected(failure(nullptr));
  // the statements before the COPY answer first
  const auto deadline = answer_deadline();
  for (;;) {
    if (auto ready = readable(deadline); !ready)
      return ready;
    std::unique_ptr<PGresult, decltype(&PQclear)> result(
        PQgetResult(m_connection), PQclear);
    if (!result)
      return unavailable(m_describe + ": COPY did not start");
    if (PQresultStatus(result.get()) == PGRES_COPY_IN)
      break;
    if (failed_result(result.get())) {
      auto failed = failure(result.get());
      if (m_connection != nullptr)
        answer(); // the rest of the script's results
      return tl::unexpected(failed);
    }
  }
  if (PQputCopyData(m_connection, data.data(), static_cast<int>(data.size())) !=
          1 ||
      PQputCopyEnd(m_connection, nullptr) != 1)
    return tl::unexpected(failure(nullptr));
  auto rows = answer();
  if (!rows)
    return tl::unexpected(rows.error());
  return {};
}

void PostgresConnection::rollback() {
  if (m_connection == nullptr || PQstatus(m_connection) != CONNECTION_OK)
    return;
  const auto status = PQtransactionStatus(m_connection);
  if (status == PQTRANS_INTRANS || status == PQTRANS_INERROR)
    execute_script("ROLLBACK");
}

void PostgresConnection::copy_field(std::string &line,
                                    const std::string &value) {
  for (const char c : value) {
    switch (c) {
    case '\\':
      line += "\\\\";
      break;
    case '\t':
      line += "\\t";
      break;
    case '\n':
      line += "\\n";
      break;
    case '\r':
      line += "\\r";
      break;
    default:
      line += c;
    }
  }
}

std::chrono::steady_clock::time_point
PostgresConnection::answer_deadline() const {
  // the server's statement_timeout, and then some for the way back
  return std::chrono::steady_clock::now() + m_options.statement_timeout +
         k_answer_margin;
}

Result<void>
PostgresConnection::readable(std::chrono::steady_clock::time_point deadline) {
  while (PQisBusy(m_connection) != 0) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    pollfd readable{PQsocket(m_connection), POLLIN, 0};
    const int ready = left.count() > 0
                          ? ::poll(&readable, 1, static_cast<int>(left.count()))
                          : 0;
    if (ready == 0) {
      PQfinish(m_connection);
      m_connection = nullptr;
      return unavailable(
          m_describe + ": no answer within " +
          std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(
                             m_options.statement_timeout + k_answer_margin)
                             .count()) +
          " ms");
    }
    if ((ready < 0 && errno != EINTR) || PQconsumeInput(m_connection) == 0)
      return tl::unexpected(failure(nullptr));
  }
  return {};
}

Result<PostgresConnection::Rows> PostgresConnection::answer() {
  const auto deadline = answer_deadline();
  std::unique_ptr<PGresult, decltype(&PQclear)> kept(nullptr, PQclear);
  for (;;) {
    if (auto ready = readable(deadline); !ready)
      return tl::unexpected(ready.error());
    PGresult *result = PQgetResult(m_connection);
    if (result == nullptr)
      break;
    // a script's first failure, or its last result
    if (kept && failed_result(kept.get()))
      PQclear(result);
    else
      kept.reset(result);
  }
  if (!kept)
    return tl::unexpected(failure(nullptr));
  if (failed_result(kept.get()))
    return tl::unexpected(failure(kept.get()));
  return Rows(kept.release());
}

} // namespace dovewarden::db
