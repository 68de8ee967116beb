#include "replication/SkippedUsers.hpp"

#include <algorithm>

namespace dovewarden::replication {

void SkippedUsers::add(const std::string &user) {
  std::lock_guard lock(m_mutex);
  m_skipped++;
  const auto seen = std::find(m_recent.begin(), m_recent.end(), user);
  if (seen != m_recent.end())
    m_recent.erase(seen);
  m_recent.push_front(user);
  if (m_recent.size() > m_recent_max)
    m_recent.pop_back();
}

SkippedUsers::Summary SkippedUsers::summary() const {
  std::lock_guard lock(m_mutex);
  return {m_skipped, {m_recent.begin(), m_recent.end()}};
}

} // namespace dovewarden::replication
