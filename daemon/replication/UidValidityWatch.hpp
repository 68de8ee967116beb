#pragma once

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace dovewarden::replication {

// Remembers the last UIDVALIDITY seen per user and mailbox, to notice a
// mailbox that was re-created or renumbered: dsync's incremental state no
// longer fits it, so a full sync is due. Bounded: when full it forgets
// everything and learns anew. Thread-safe.
class UidValidityWatch {
public:
  explicit UidValidityWatch(std::size_t capacity = 100000)
      : m_capacity(capacity) {}

  // Records uidvalidity for the mailbox. Returns the previous value if it
  // differs, nothing if it is the same or the mailbox was not seen before.
  std::optional<std::uint64_t> see(std::string_view user,
                                   std::string_view mailbox,
                                   std::uint64_t uidvalidity);

private:
  std::size_t m_capacity;
  std::mutex m_mutex;
  std::unordered_map<std::string, std::uint64_t> m_seen;
  std::string m_key; // the key being looked up, kept for its buffer
};

} // namespace dovewarden::replication
