#include "util/SignalWaiter.hpp"

#include <pthread.h>

#include <cerrno>
#include <ctime>

namespace dovewarden::util {

SignalWaiter::SignalWaiter(std::initializer_list<int> signals) {
  sigemptyset(&m_set);
  for (const int signal : signals)
    sigaddset(&m_set, signal);
  pthread_sigmask(SIG_BLOCK, &m_set, nullptr);
}

std::optional<int>
SignalWaiter::wait(std::optional<std::chrono::milliseconds> timeout) {
  while (true) {
    int result;
    if (timeout) {
      const auto millis = timeout->count() < 0 ? 0 : timeout->count();
      timespec ts{static_cast<time_t>(millis / 1000),
                  static_cast<long>(millis % 1000) * 1000000L};
      result = sigtimedwait(&m_set, nullptr, &ts);
    } else {
      result = sigwaitinfo(&m_set, nullptr);
    }
    if (result > 0)
      return result;
    if (errno == EAGAIN)
      return std::nullopt;
    // EINTR: a signal outside the set interrupted the wait
  }
}

} // namespace dovewarden::util
