#pragma once

#include "Wait.hpp"

#include <fcntl.h>
#include <grp.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace dovewarden::test {

// The process of a server of a test's own (RedisServer, PostgresServer): a
// temporary work directory, made at construction; the server started in it
// as a child process and waited for until it answers; stopped with a signal;
// the directory removed on destruction, after a last stop().
class ServerProcess {
public:
  // name: the server's, for errors; prefix: of the directory's name in /tmp;
  // stop_signal: what stop() sends; death_signal: what the server (and every
  // process run()) gets when the test process dies.
  ServerProcess(std::string name, const std::string &prefix, int stop_signal,
                int death_signal)
      : m_name(std::move(name)), m_stop_signal(stop_signal),
        m_death_signal(death_signal) {
    std::string directory = "/tmp/" + prefix + "-XXXXXX";
    if (::mkdtemp(directory.data()) == nullptr)
      throw std::runtime_error("mkdtemp failed");
    m_directory = directory;
  }
  ServerProcess(const ServerProcess &) = delete;
  ServerProcess &operator=(const ServerProcess &) = delete;
  ~ServerProcess() {
    stop();
    std::error_code ignored;
    std::filesystem::remove_all(m_directory, ignored);
  }

  const std::string &directory() const { return m_directory; }
  pid_t pid() const { return m_pid; }

  // Runs the server and every process run() as uid and gid (the tests as
  // root, for a server that refuses root), its directory theirs.
  void run_as(uid_t uid, gid_t gid) {
    if (::chown(m_directory.c_str(), uid, gid) != 0)
      throw std::runtime_error("cannot chown " + m_directory);
    m_uid = uid;
    m_gid = gid;
  }

  // Runs arguments (the first a binary's path) to their end, their output
  // appended to output. Throws if they fail.
  void run(std::vector<std::string> arguments,
           const std::string &output) const {
    const pid_t pid = spawn(arguments, output);
    int status = 0;
    ::waitpid(pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
      throw std::runtime_error(arguments[0] + " failed; see " + output);
  }

  // Starts the server unless it runs: arguments (the first its binary's
  // path), with their output appended to output unless that is empty. Waits
  // up to timeout until answering() returns true. Throws if the server exits
  // first (log says why) or does not answer in time (then stops it).
  template <typename Answering>
  void start(std::vector<std::string> arguments, const std::string &log,
             const std::string &output, Answering answering,
             std::chrono::steady_clock::duration timeout) {
    if (m_pid > 0)
      return;
    m_pid = spawn(std::move(arguments), output);
    bool exited = false;
    const bool up = wait_until(
        [&] {
          int status = 0;
          exited = ::waitpid(m_pid, &status, WNOHANG) == m_pid;
          return exited || answering();
        },
        timeout);
    if (exited) {
      m_pid = -1;
      throw std::runtime_error(m_name + " exited at start; see " + log);
    }
    if (!up) {
      stop();
      throw std::runtime_error(m_name + " did not start answering");
    }
  }

  // Stops the server: sends it the stop signal and waits for its end.
  void stop() {
    if (m_pid <= 0)
      return;
    ::kill(m_pid, m_stop_signal);
    int status = 0;
    ::waitpid(m_pid, &status, 0);
    m_pid = -1;
  }

private:
  // Starts arguments as the server's user, their output appended to output
  // unless that is empty; returns the pid.
  pid_t spawn(std::vector<std::string> arguments,
              const std::string &output) const {
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
      // after setuid, which clears it
      ::prctl(PR_SET_PDEATHSIG, m_death_signal);
      if (!output.empty()) {
        const int fd =
            ::open(output.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
        if (fd >= 0) {
          ::dup2(fd, 1);
          ::dup2(fd, 2);
          ::close(fd);
        }
      }
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
    return pid;
  }

  std::string m_name;
  int m_stop_signal;
  int m_death_signal;
  std::string m_directory;
  uid_t m_uid = 0;
  gid_t m_gid = 0;
  pid_t m_pid = -1;
};

} // namespace dovewarden::test
