// dovewardend: receives mail events from the Dovecot plugin and fans them
// out. See docs/ARCHITECTURE.md for the way events take through it.

#include "Daemon.hpp"
#include "config/Config.hpp"
#include "config/UnknownEnvironment.hpp"
#include "util/ConfigError.hpp"
#include "util/Duration.hpp"
#include "util/Logger.hpp"
#include "util/SignalWaiter.hpp"

#include <signal.h>
#include <sysexits.h>

#include <chrono>
#include <cstdlib>
#include <future>
#include <iostream>
#include <thread>

using namespace dovewarden;

namespace {

using Clock = std::chrono::steady_clock;

void print_fatal(const std::string &message) {
  std::cerr << "dovewardend: " << message << '\n';
}

// Waits for SIGINT or SIGTERM; SIGHUP reopens the stream file.
int wait_for_stop(util::SignalWaiter &signals, Daemon &daemon) {
  while (true) {
    const auto signal = signals.wait();
    if (signal && *signal != SIGHUP)
      return *signal;
    if (signal)
      daemon.reopen_stream();
  }
}

// Stops daemon within timeout. Returns false if it took too long or a
// second signal asked to give up.
bool stop_within(Daemon &daemon, util::SignalWaiter &signals,
                 std::chrono::milliseconds timeout) {
  // a detached thread, not std::async: giving up must not wait for it
  std::promise<void> done;
  auto stopped = done.get_future();
  std::thread([&daemon, done = std::move(done)]() mutable {
    daemon.stop();
    done.set_value();
  }).detach();
  const auto deadline = Clock::now() + timeout;
  while (stopped.wait_for(std::chrono::milliseconds(0)) !=
         std::future_status::ready) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - Clock::now());
    if (left.count() <= 0) {
      LOG_ERROR("shutdown took longer than DOVEWARDEN_SHUTDOWN_TIMEOUT=",
                util::format_duration(timeout),
                "; exiting with events undelivered");
      return false;
    }
    const auto signal =
        signals.wait(std::min(left, std::chrono::milliseconds(50)));
    if (signal && *signal != SIGHUP) {
      LOG_WARN("second signal during shutdown; exiting now");
      return false;
    }
  }
  stopped.get();
  return true;
}

} // namespace

int main(int argc, char **argv) {
  // before any thread starts, so that every thread inherits the mask
  util::SignalWaiter signals{SIGINT, SIGTERM, SIGHUP};
  ::signal(SIGPIPE, SIG_IGN);
  // a file-size limit (LimitFSIZE=) fails a write as a full disk does: the
  // store reports it and /readyz says so, instead of a core dump
  ::signal(SIGXFSZ, SIG_IGN);

  std::optional<config::Config> config;
  try {
    config = config::Config::from_command_line(
        argc, argv, config::Config::process_environment(), std::cout);
  } catch (const util::ConfigError &e) {
    print_fatal(e.what());
    return EX_USAGE;
  }
  if (!config)
    return EXIT_SUCCESS; // --help or --version
  util::Logger::set_level(config->log_level);
  for (const auto &warning : config->warnings)
    LOG_WARN(warning);
  for (const auto &warning :
       config::unknown_environment(config::environment_names()))
    LOG_WARN(warning);
  const auto shutdown_timeout = config->shutdown_timeout;

  Daemon daemon(std::move(*config));
  try {
    daemon.start();
  } catch (const std::exception &e) {
    print_fatal(e.what());
    daemon.stop();
    return EXIT_FAILURE;
  }

  const int signal = wait_for_stop(signals, daemon);
  LOG_INFO("received ", signal == SIGINT ? "SIGINT" : "SIGTERM", ", stopping");
  if (!stop_within(daemon, signals, shutdown_timeout))
    std::_Exit(EXIT_FAILURE);
  return daemon.failed() ? EXIT_FAILURE : EXIT_SUCCESS;
}
