#pragma once

#include "FreePort.hpp"
#include "ServerProcess.hpp"

#include <libpq-fe.h>
#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace dovewarden::test {

// A PostgreSQL server of its own, for a test or a benchmark: Debian's
// initdb and postgres (/usr/lib/postgresql/N/bin) making a throw-away
// cluster in a temporary directory, listening on a free 127.0.0.1 port and
// on a unix socket in that directory, trusting every local connection.
// Run as the `postgres` system user when the tests run as root (the server
// refuses root). Stopped and removed on destruction. Throws if the binaries
// are missing (available() says beforehand) or the server does not start.
class PostgresServer {
public:
  static constexpr const char *k_superuser = "postgres";

  // Returns the directory of the newest PostgreSQL binaries, "" if none.
  static std::string binaries() {
    std::vector<std::filesystem::path> found;
    std::error_code ignored;
    for (const auto &entry :
         std::filesystem::directory_iterator("/usr/lib/postgresql", ignored)) {
      const auto bin = entry.path() / "bin";
      if (::access((bin / "initdb").c_str(), X_OK) == 0 &&
          ::access((bin / "postgres").c_str(), X_OK) == 0)
        found.push_back(bin);
    }
    if (found.empty())
      return {};
    // "9.6" < "15": by the number before the dot
    return std::max_element(found.begin(), found.end(),
                            [](const auto &a, const auto &b) {
                              return std::stoi(a.parent_path().filename()) <
                                     std::stoi(b.parent_path().filename());
                            })
        ->string();
  }
  static bool available() { return !binaries().empty(); }

  // settings: "name=value" server settings (postgres -c), after the
  // fixture's own (fsync=off unless one says otherwise)
  explicit PostgresServer(std::vector<std::string> settings = {})
      : m_binaries(installed_binaries()), m_settings(std::move(settings)) {
    if (::geteuid() == 0) {
      const passwd *user = ::getpwnam(k_superuser);
      if (user == nullptr)
        throw std::runtime_error("no system user postgres to run "
                                 "PostgreSQL as: install postgresql");
      m_process.run_as(user->pw_uid, user->pw_gid);
    }
    m_port = test::free_port();
    m_process.run({m_binaries + "/initdb", "-D", data(), "-U", k_superuser,
                   "-A", "trust", "-E", "UTF8", "--no-sync",
                   "--no-instructions"},
                  directory() + "/initdb.log");
    start();
  }
  PostgresServer(const PostgresServer &) = delete;
  PostgresServer &operator=(const PostgresServer &) = delete;

  int port() const { return m_port; }
  const std::string &directory() const { return m_process.directory(); }

  // Returns the connection string of database over TCP (socket: false)
  // or the unix socket.
  std::string dsn(const std::string &database = "postgres",
                  bool socket = false) const {
    return "host=" + (socket ? directory() : std::string("127.0.0.1")) +
           " port=" + std::to_string(m_port) + " user=" + k_superuser +
           " dbname=" + database;
  }

  // Runs sql as the superuser. Throws if it fails.
  void execute(const std::string &sql,
               const std::string &database = "postgres") const {
    const std::unique_ptr<PGconn, decltype(&PQfinish)> connection(
        PQconnectdb(dsn(database).c_str()), PQfinish);
    if (PQstatus(connection.get()) != CONNECTION_OK)
      throw std::runtime_error(std::string("cannot connect: ") +
                               PQerrorMessage(connection.get()));
    const std::unique_ptr<PGresult, decltype(&PQclear)> result(
        PQexec(connection.get(), sql.c_str()), PQclear);
    const auto status = PQresultStatus(result.get());
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK)
      throw std::runtime_error(sql + ": " + PQresultErrorMessage(result.get()));
  }

  // Creates an empty database; returns its connection string.
  std::string create_database(const std::string &name) const {
    execute("CREATE DATABASE " + name);
    return dsn(name);
  }

  // Starts the server again on the same port and data.
  void start() {
    std::vector<std::string> arguments{m_binaries + "/postgres",
                                       "-D",
                                       data(),
                                       "-h",
                                       "127.0.0.1",
                                       "-p",
                                       std::to_string(m_port),
                                       "-k",
                                       directory(),
                                       "-c",
                                       "fsync=off",
                                       "-c",
                                       "max_connections=50",
                                       "-c",
                                       "shared_buffers=64MB"};
    for (const auto &setting : m_settings)
      arguments.insert(arguments.end(), {"-c", setting});
    const std::string log = directory() + "/postgres.log";
    m_process.start(
        std::move(arguments), log, log,
        [this] {
          if (PQping(dsn().c_str()) == PQPING_OK)
            return true;
          std::this_thread::sleep_for(std::chrono::milliseconds(20));
          return false;
        },
        std::chrono::seconds(60));
  }

  // Stops the server (fast shutdown: its clients are disconnected).
  void stop() { m_process.stop(); }

private:
  // Returns binaries(); throws if there are none.
  static std::string installed_binaries() {
    std::string found = binaries();
    if (found.empty())
      throw std::runtime_error("PostgreSQL is missing: install postgresql "
                               "(no /usr/lib/postgresql/*/bin/initdb)");
    return found;
  }

  std::string data() const { return directory() + "/data"; }

  std::string m_binaries;
  std::vector<std::string> m_settings;
  // the server's user: an immediate shutdown (SIGQUIT) when the test process
  // dies
  ServerProcess m_process{"postgres", "dovewarden-pg", SIGINT, SIGQUIT};
  int m_port = 0;
};

} // namespace dovewarden::test
