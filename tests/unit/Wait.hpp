#pragma once

#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>

namespace dovewarden::test {

// Calls done every millisecond until it returns true or timeout passes.
// Returns whether it did. A test waits this way for what another thread
// does, not for the time that usually takes.
template <typename Done>
bool wait_until(Done done, std::chrono::steady_clock::duration timeout =
                               std::chrono::seconds(10)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline)
      return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

// Returns the calling thread's id in the kernel, for blocked().
inline pid_t thread_id() { return static_cast<pid_t>(::syscall(SYS_gettid)); }

// Returns whether thread tid of this process sleeps: it waits for a lock, a
// condition variable or I/O. A test that asserts what a thread has not done
// first waits for it to block, so that the assertion does not pass merely
// because the thread was slow.
inline bool blocked(pid_t tid) {
  std::ifstream stat("/proc/self/task/" + std::to_string(tid) + "/stat");
  const std::string text((std::istreambuf_iterator<char>(stat)),
                         std::istreambuf_iterator<char>());
  // "<tid> (<name>) <state> ...": the name may hold anything but ends at the
  // last ')'
  const auto name_end = text.rfind(')');
  return name_end != std::string::npos && name_end + 2 < text.size() &&
         text[name_end + 2] == 'S';
}

} // namespace dovewarden::test
