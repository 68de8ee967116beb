#pragma once

#include "FreePort.hpp"
#include "Wait.hpp"

#include <fcntl.h>
#include <grp.h>
#include <libpq-fe.h>
#include <pwd.h>
#include <sys/prctl.h>
#include <sys/wait.h>
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
      : m_binaries(binaries()), m_settings(std::move(settings)) {
    if (m_binaries.empty())
      throw std::runtime_error("PostgreSQL is missing: install postgresql "
                               "(no /usr/lib/postgresql/*/bin/initdb)");
    char name[] = "/tmp/dovewarden-pg-XXXXXX";
    if (::mkdtemp(name) == nullptr)
      throw std::runtime_error("mkdtemp failed");
    m_directory = name;
    if (::geteuid() == 0) {
      const passwd *user = ::getpwnam(k_superuser);
      if (user == nullptr)
        throw std::runtime_error("no system user postgres to run "
                                 "PostgreSQL as: install postgresql");
      m_uid = user->pw_uid;
      m_gid = user->pw_gid;
      if (::chown(m_directory.c_str(), m_uid, m_gid) != 0)
        throw std::runtime_error("cannot chown " + m_directory);
    }
    m_port = test::free_port();
    run({m_binaries + "/initdb", "-D", data(), "-U", k_superuser, "-A", "trust",
         "-E", "UTF8", "--no-sync", "--no-instructions"},
        m_directory + "/initdb.log", true);
    start();
  }
  PostgresServer(const PostgresServer &) = delete;
  PostgresServer &operator=(const PostgresServer &) = delete;
  ~PostgresServer() {
    stop();
    std::error_code ignored;
    std::filesystem::remove_all(m_directory, ignored);
  }

  int port() const { return m_port; }
  const std::string &directory() const { return m_directory; }

  // Returns the connection string of database over TCP (socket: false)
  // or the unix socket.
  std::string dsn(const std::string &database = "postgres",
                  bool socket = false) const {
    return "host=" + (socket ? m_directory : std::string("127.0.0.1")) +
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
    if (m_pid > 0)
      return;
    std::vector<std::string> arguments{m_binaries + "/postgres",
                                       "-D",
                                       data(),
                                       "-h",
                                       "127.0.0.1",
                                       "-p",
                                       std::to_string(m_port),
                                       "-k",
                                       m_directory,
                                       "-c",
                                       "fsync=off",
                                       "-c",
                                       "max_connections=50",
                                       "-c",
                                       "shared_buffers=64MB"};
    for (const auto &setting : m_settings)
      arguments.insert(arguments.end(), {"-c", setting});
    m_pid = run(arguments, m_directory + "/postgres.log", false);
    bool exited = false;
    const bool up = wait_until(
        [&] {
          int status = 0;
          exited = ::waitpid(m_pid, &status, WNOHANG) == m_pid;
          if (exited || PQping(dsn().c_str()) == PQPING_OK)
            return true;
          std::this_thread::sleep_for(std::chrono::milliseconds(20));
          return false;
        },
        std::chrono::seconds(60));
    if (exited) {
      m_pid = -1;
      throw std::runtime_error("postgres exited at start; see " + m_directory +
                               "/postgres.log");
    }
    if (!up) {
      stop();
      throw std::runtime_error("postgres did not start answering");
    }
  }

  // Stops the server (fast shutdown: its clients are disconnected).
  void stop() {
    if (m_pid <= 0)
      return;
    ::kill(m_pid, SIGINT);
    int status = 0;
    ::waitpid(m_pid, &status, 0);
    m_pid = -1;
  }

private:
  std::string data() const { return m_directory + "/data"; }

  // Runs arguments as the server's user, output to log; waits for it to
  // succeed if wait, else returns its pid.
  pid_t run(std::vector<std::string> arguments, const std::string &log,
            bool wait) const {
    std::vector<char *> argv;
    for (auto &argument : arguments)
      argv.push_back(argument.data());
    argv.push_back(nullptr);
    const pid_t pid = ::fork();
    if (pid < 0)
      throw std::runtime_error("fork failed");
    if (pid == 0) {
      if (m_uid != 0 && (::setgroups(0, nullptr) != 0 || ::setgid(m_gid) != 0 ||
                         ::setuid(m_uid) != 0))
        ::_exit(126);
      // after setuid, which clears it: an immediate shutdown when the test
      // process dies
      ::prctl(PR_SET_PDEATHSIG, SIGQUIT);
      const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
      if (fd >= 0) {
        ::dup2(fd, 1);
        ::dup2(fd, 2);
        ::close(fd);
      }
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
    if (!wait)
      return pid;
    int status = 0;
    ::waitpid(pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
      throw std::runtime_error(arguments[0] + " failed; see " + log);
    return -1;
  }

  std::string m_binaries;
  std::vector<std::string> m_settings;
  std::string m_directory;
  uid_t m_uid = 0;
  gid_t m_gid = 0;
  int m_port = 0;
  pid_t m_pid = -1;
};

} // namespace dovewarden::test
