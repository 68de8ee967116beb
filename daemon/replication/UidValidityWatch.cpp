#include "replication/UidValidityWatch.hpp"

namespace dovewarden::replication {

std::optional<std::uint64_t> UidValidityWatch::see(std::string_view user,
                                                   std::string_view mailbox,
                                                   std::uint64_t uidvalidity) {
  // <user> \0 <mailbox>: neither holds a NUL
  std::string key;
  key.reserve(user.size() + 1 + mailbox.size());
  key.append(user).push_back('\0');
  key.append(mailbox);
  std::lock_guard lock(m_mutex);
  const auto it = m_seen.find(key);
  if (it == m_seen.end()) {
    if (m_seen.size() >= m_capacity)
      m_seen.clear();
    m_seen.emplace(std::move(key), uidvalidity);
    return std::nullopt;
  }
  const auto previous = it->second;
  it->second = uidvalidity;
  if (previous == uidvalidity)
    return std::nullopt;
  return previous;
}

} // namespace dovewarden::replication
