#pragma once

#include <tl/expected.hpp>

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace dovewarden::sources {

// Which local processes may send events on the ipc socket, judged by the
// uid and gid the kernel reports for the connecting process (SO_PEERCRED):
// a peer whose uid or gid is listed is let in.
class PeerPolicy {
public:
  enum class Kind { user, group };

  // Users or groups: a comma-separated list of numbers, names and numeric
  // ranges (500-65533), or "*" for anyone.
  class Ids {
  public:
    // With skip_unknown, a name this machine does not know is left out
    // instead of being an error (the defaults name Dovecot's users, which a
    // daemon host may lack). Returns the ids, or why text is not a list.
    static tl::expected<Ids, std::string> parse(std::string_view text,
                                                Kind kind, bool skip_unknown);

    bool any() const { return m_any; }
    bool contains(std::uint32_t id) const;

  private:
    struct Range {
      std::uint32_t first;
      std::uint32_t last;
    };

    bool m_any = false;
    std::vector<Range> m_ranges;
  };

  // Lets every peer in.
  PeerPolicy() = default;
  PeerPolicy(Ids uids, Ids gids)
      : m_uids(std::move(uids)), m_gids(std::move(gids)),
        m_any(m_uids.any() || m_gids.any()) {}

  // Returns true if it lets every peer in.
  bool open() const { return m_any; }
  bool allows(uid_t uid, gid_t gid) const {
    return m_any || m_uids.contains(uid) || m_gids.contains(gid);
  }

private:
  Ids m_uids;
  Ids m_gids;
  bool m_any = true;
};

} // namespace dovewarden::sources
