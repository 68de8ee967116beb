#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <vector>

namespace dovewarden::replication {

// The syncs this daemon skipped because the userdb says noreplicate: how
// many since it started, and the last few users, for `dovewarden status`.
// Thread-safe.
class SkippedUsers {
public:
  struct Summary {
    std::uint64_t skipped = 0;
    std::vector<std::string> recent; // the latest first, each user once
  };

  explicit SkippedUsers(std::size_t recent_max = 10)
      : m_recent_max(recent_max) {}

  void add(const std::string &user);
  Summary summary() const;

private:
  std::size_t m_recent_max;
  mutable std::mutex m_mutex;
  std::uint64_t m_skipped = 0;
  std::deque<std::string> m_recent;
};

} // namespace dovewarden::replication
