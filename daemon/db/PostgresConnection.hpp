#pragma once

#include "db/StoreFailure.hpp"

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

struct pg_conn;
struct pg_result;

namespace dovewarden::db {

// One libpq connection to a PostgreSQL server, made again on the next call
// after it was lost. Not thread-safe: its store guards it with a mutex.
// Failures name the server (never with the password); their kind follows
// the SQLSTATE (a lost connection, a timeout, a full disk: unavailable; a
// unique violation: conflict).
class PostgresConnection {
public:
  struct Options {
    std::string dsn; // a libpq connection string or URI
    // what the DSN does not say otherwise
    std::chrono::seconds connect_timeout{5};
    std::chrono::milliseconds statement_timeout{30'000};
  };

  // The rows a statement returned.
  class Rows {
  public:
    explicit Rows(pg_result *result);
    Rows(Rows &&) noexcept;
    Rows &operator=(Rows &&) noexcept;
    ~Rows();

    int size() const;
    std::string text(int row, int column) const;
    std::int64_t number(int row, int column) const;
    // Returns how many rows the statement changed.
    std::uint64_t changed() const;

  private:
    pg_result *m_result;
  };

  // Checks the DSN and connects. Returns a failure if the DSN is not one
  // (invalid) or the server cannot be reached (unavailable).
  static Result<std::unique_ptr<PostgresConnection>> connect(Options options);

  // Returns the DSN as log lines may show it: its password left out.
  static std::string redacted(const std::string &dsn);

  PostgresConnection(const PostgresConnection &) = delete;
  PostgresConnection &operator=(const PostgresConnection &) = delete;
  ~PostgresConnection();

  // "postgresql://USER@HOST:PORT/DATABASE", for failures and log lines.
  const std::string &describe() const { return m_describe; }

  // Runs one statement with text parameters ($1, $2, ...; each as
  // PostgreSQL reads it). Returns its rows, or a failure.
  Result<Rows> execute(const std::string &sql,
                       const std::vector<std::string> &parameters = {});
  // Runs several statements, without parameters.
  Result<void> execute_script(const std::string &sql);
  // Runs sql, statements without parameters whose last is a COPY ... FROM
  // STDIN, and sends it data in COPY's text format (copy_field). Returns the
  // first failure.
  Result<void> copy_in(const std::string &sql, const std::string &data);
  // Rolls back the transaction the connection is in, if any; nothing if the
  // connection is lost (the server rolls it back).
  void rollback();

  // Adds value to a line of COPY's text format, its backslashes, tabs and
  // line breaks escaped.
  static void copy_field(std::string &line, const std::string &value);

private:
  explicit PostgresConnection(Options options, std::string describe);

  // how long past the statement timeout an answer may take
  static constexpr std::chrono::seconds k_answer_margin{5};
  // how long sent bytes may stay unacknowledged before the connection is
  // given up (a server gone without a word)
  static constexpr std::chrono::milliseconds k_user_timeout{10'000};

  // Connects unless connected.
  Result<void> connected();
  // Returns the failure of result (null: of the connection) and drops a
  // connection that is lost.
  StoreFailure failure(pg_result *result);
  // Waits, until the statement timeout and k_answer_margin have passed,
  // for the answer to what was sent: the rows of its last statement, or
  // the first failure. Drops the connection if no answer comes.
  Result<Rows> answer();
  // Returns when a result can be read without blocking, or a failure if
  // none came by deadline (the connection dropped).
  Result<void> readable(std::chrono::steady_clock::time_point deadline);
  std::chrono::steady_clock::time_point answer_deadline() const;

  Options m_options;
  std::string m_describe;
  pg_conn *m_connection = nullptr;
};

} // namespace dovewarden::db
