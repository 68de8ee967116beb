#include "replication/UserdbCache.hpp"

#include <iterator>
#include <utility>

namespace dovewarden::replication {

UserdbCache::UserdbCache(Options options, Lookup lookup)
    : m_options(std::move(options)), m_lookup(std::move(lookup)) {}

tl::expected<UserdbFields, DoveadmFailure>
UserdbCache::get(const std::string &user) {
  {
    std::lock_guard lock(m_mutex);
    const auto found = m_index.find(user);
    if (found != m_index.end() && m_options.now() < found->second->expires)
      return found->second->fields;
  }
  auto fields = m_lookup(user);
  if (fields)
    keep(user, *fields);
  return fields;
}

std::size_t UserdbCache::size() const {
  std::lock_guard lock(m_mutex);
  return m_entries.size();
}

void UserdbCache::keep(const std::string &user, UserdbFields fields) {
  if (m_options.ttl.count() <= 0 || m_options.max_entries == 0)
    return;
  const auto now = m_options.now();
  std::lock_guard lock(m_mutex);
  if (const auto found = m_index.find(user); found != m_index.end()) {
    m_entries.erase(found->second);
    m_index.erase(found);
  }
  // every entry lives as long: the oldest expire first
  while (!m_entries.empty() && (m_entries.front().expires <= now ||
                                m_entries.size() >= m_options.max_entries)) {
    m_index.erase(m_entries.front().user);
    m_entries.pop_front();
  }
  m_entries.push_back({user, std::move(fields), now + m_options.ttl});
  m_index[user] = std::prev(m_entries.end());
}

} // namespace dovewarden::replication
