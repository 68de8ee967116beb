#include "util/DependencyBackoff.hpp"

#include <algorithm>
#include <cmath>
#include <random>

namespace dovewarden::util {

std::chrono::milliseconds backoff_wait(std::chrono::milliseconds min,
                                       std::chrono::milliseconds max,
                                       int failures) {
  thread_local std::mt19937 random{std::random_device{}()};
  const double base = static_cast<double>(min.count());
  const double most = static_cast<double>(max.count());
  const int doublings = std::clamp(failures - 1, 0, 40);
  const double wait = std::min(most, std::ldexp(base, doublings));
  std::uniform_real_distribution<double> jitter(0.8, 1.2);
  return std::chrono::milliseconds(
      static_cast<std::int64_t>(std::min(most, wait * jitter(random))));
}

bool DependencyBackoff::may_try(Clock::time_point now) {
  std::lock_guard lock(m_mutex);
  if (m_up)
    return true;
  if (m_trier || now < m_next_try)
    return false;
  m_trier = std::this_thread::get_id();
  return true;
}

bool DependencyBackoff::failed(Clock::time_point now) {
  std::lock_guard lock(m_mutex);
  const bool was_up = m_up;
  if (!was_up && !trying())
    return false;
  m_up = false;
  m_trier.reset();
  m_failures++;
  m_next_try = now + backoff_wait(m_options.min, m_options.max, m_failures);
  return was_up;
}

bool DependencyBackoff::succeeded() {
  std::lock_guard lock(m_mutex);
  const bool was_down = !m_up;
  m_up = true;
  m_trier.reset();
  m_failures = 0;
  return was_down;
}

void DependencyBackoff::untried() {
  std::lock_guard lock(m_mutex);
  if (trying())
    m_trier.reset();
}

bool DependencyBackoff::trying() const {
  return m_trier == std::this_thread::get_id();
}

bool DependencyBackoff::up() const {
  std::lock_guard lock(m_mutex);
  return m_up;
}

DependencyBackoff::Clock::time_point DependencyBackoff::next_try() const {
  std::lock_guard lock(m_mutex);
  return m_up ? Clock::now() : m_next_try;
}

int DependencyBackoff::failures() const {
  std::lock_guard lock(m_mutex);
  return m_failures;
}

} // namespace dovewarden::util
