#include "replication/UidValidityWatch.hpp"

namespace dovewarden::replication {

std::optional<std::uint64_t> UidValidityWatch::see(std::string_view user,
                                                   std::string_view mailbox,
                                                   std::uint64_t uidvalidity) {
  std::lock_guard lock(m_mutex);
  // <user> \0 <mailbox>: neither holds a NUL; built in a kept buffer, as
  // this runs for every event and most find their mailbox known
  m_key.assign(user).push_back('\0');
  m_key.append(mailbox);
  const auto it = m_seen.find(m_key);
  if (it == m_seen.end()) {
    if (m_seen.size() >= m_capacity)
      m_seen.clear();
    m_seen.emplace(m_key, uidvalidity);
    return std::nullopt;
  }
  const auto previous = it->second;
  it->second = uidvalidity;
  if (previous == uidvalidity)
    return std::nullopt;
  return previous;
}

} // namespace dovewarden::replication
