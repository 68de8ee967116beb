#pragma once

#include <chrono>
#include <cstdint>
#include <optional>

namespace dovewarden::util {

// Lets a repeated warning through at most once per interval and counts the
// ones held back. Not thread-safe: give each reporting thread its own.
class Throttle {
public:
  using Clock = std::chrono::steady_clock;

  explicit Throttle(Clock::duration interval) : m_interval(interval) {}

  // Returns true if a report at now may be written, otherwise counts it as
  // suppressed and returns false.
  bool allow(Clock::time_point now = Clock::now()) {
    if (m_last && now - *m_last < m_interval) {
      m_suppressed++;
      return false;
    }
    m_last = now;
    return true;
  }

  // Returns how many reports were held back since the last call.
  std::uint64_t take_suppressed() {
    const auto count = m_suppressed;
    m_suppressed = 0;
    return count;
  }

private:
  Clock::duration m_interval;
  std::optional<Clock::time_point> m_last;
  std::uint64_t m_suppressed = 0;
};

} // namespace dovewarden::util
