#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <thread>

namespace dovewarden::util {

// Returns the wait before retry number failures (1: the first), doubling
// from min up to max, with +-20% jitter.
std::chrono::milliseconds backoff_wait(std::chrono::milliseconds min,
                                       std::chrono::milliseconds max,
                                       int failures);

// One dependency the daemon cannot work without (doveadm, a store): up, or
// down since a failure and tried again by one caller at a time, after a
// wait that doubles from min to max (backoff_wait). Thread-safe; the caller
// that makes a try is the thread may_try() allowed it, and only that
// thread's failed() or untried() ends it.
class DependencyBackoff {
public:
  using Clock = std::chrono::steady_clock;

  struct Options {
    std::chrono::milliseconds min{1000};
    std::chrono::milliseconds max{30000};
  };

  explicit DependencyBackoff(Options options) : m_options(options) {}

  // Returns true if the dependency is up, or if it is down and a try is due
  // at now: this caller then makes the try, and reports it with failed()
  // or succeeded() (or untried() if it found nothing to try with).
  bool may_try(Clock::time_point now = Clock::now());
  // Records a failure. The first marks the dependency down; the failed try
  // of one that is down makes the next wait longer; other threads' failures
  // while it is down change nothing. Returns true if it was up.
  bool failed(Clock::time_point now = Clock::now());
  // Records a success: the dependency is up. Returns true if it was down.
  bool succeeded();
  // Gives back the try may_try() allowed this thread, still due; nothing if
  // it allowed this thread none.
  void untried();

  bool up() const;
  // Returns when the next try is due (now if up).
  Clock::time_point next_try() const;
  // Returns how many tries failed in a row since the dependency went down
  // (0 while up).
  int failures() const;

private:
  bool trying() const; // whether this thread makes the try; under m_mutex

  Options m_options;
  mutable std::mutex m_mutex;
  bool m_up = true;
  std::optional<std::thread::id> m_trier;
  int m_failures = 0;
  Clock::time_point m_next_try;
};

} // namespace dovewarden::util
