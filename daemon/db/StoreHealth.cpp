#include "db/StoreHealth.hpp"

#include "util/Logger.hpp"

#include <chrono>

namespace dovewarden::db {

StoreHealth::StoreHealth(std::string describe)
    : m_describe(std::move(describe)) {}

void StoreHealth::saw(const StoreFailure &failure) {
  if (failure.kind != StoreFailure::Kind::unavailable)
    return;
  {
    std::lock_guard lock(m_mutex);
    m_last_failure = failure.message;
  }
  if (m_backoff.failed())
    LOG_ERROR(m_describe, ": cannot write (", failure.message,
              "); not ready until a write succeeds again");
}

std::string StoreHealth::last_failure() const {
  if (writable())
    return {};
  std::lock_guard lock(m_mutex);
  return m_last_failure;
}

bool StoreHealth::check(const std::function<Result<void>()> &probe) {
  if (m_backoff.up() || !m_backoff.may_try())
    return m_backoff.up();
  const auto written = probe();
  if (!written) {
    {
      std::lock_guard lock(m_mutex);
      m_last_failure = written.error().message;
    }
    m_backoff.failed();
    LOG_DEBUG(m_describe, ": write probe failed: ", written.error().message,
              "; ", m_backoff.failures(), " in a row");
    return false;
  }
  if (m_backoff.succeeded())
    LOG_INFO(m_describe, ": writes succeed again; ready");
  return true;
}

} // namespace dovewarden::db
