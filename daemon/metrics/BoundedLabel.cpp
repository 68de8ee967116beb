#include "metrics/BoundedLabel.hpp"

namespace dovewarden::metrics {

BoundedLabel::BoundedLabel(std::size_t max_seen,
                           std::function<bool(std::string_view)> known)
    : m_max_seen(max_seen), m_known(std::move(known)) {}

std::string BoundedLabel::admit(std::string_view value) {
  if (value.empty())
    return "unknown";
  if (m_known && m_known(value))
    return std::string(value);
  std::lock_guard lock(m_mutex);
  if (m_seen.find(value) != m_seen.end())
    return std::string(value);
  if (m_seen.size() < m_max_seen) {
    m_seen.emplace(value);
    return std::string(value);
  }
  return std::string(k_other);
}

} // namespace dovewarden::metrics
