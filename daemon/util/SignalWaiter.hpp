#pragma once

#include <signal.h>

#include <chrono>
#include <initializer_list>
#include <optional>

namespace dovewarden::util {

// Turns signals into values for one thread to wait on, so that no real work
// happens in a signal handler. Construct it before starting any thread: the
// signals are blocked in the constructing thread and every thread it starts
// afterwards inherits that.
class SignalWaiter {
public:
  explicit SignalWaiter(std::initializer_list<int> signals);
  SignalWaiter(const SignalWaiter &) = delete;
  SignalWaiter &operator=(const SignalWaiter &) = delete;

  // Waits for one of the signals, up to timeout if given. Returns the signal
  // number, or nothing on timeout.
  std::optional<int>
  wait(std::optional<std::chrono::milliseconds> timeout = {});

private:
  sigset_t m_set;
};

} // namespace dovewarden::util
