#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <list>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace dovewarden::core {

// Finds messages lost between a plugin process and the daemon. Each process
// instance ("inst") numbers its messages 1, 2, 3, ...; a jump in "seq" is
// a loss of the messages in between.
//
// Decisions:
// - The first message seen from an instance is never a loss, whatever its
//   seq: the daemon may have started (or restarted) after the process, and
//   the two cases cannot be told apart.
// - A seq at or below the last one seen, by at most max_reorder, is not a
//   loss and does not move the mark back (duplicate, reordering).
// - Any seq is taken, from anyone: a jump forward of more than max_gap, or
//   back by more than max_reorder, is implausible for a real process (a
//   forged message, or seq restarting under the same inst). It is reported
//   as a reset, not as a loss, and the instance starts over from that seq as
//   if first seen, so that one message can neither claim more than max_gap
//   lost nor stop real gaps from showing afterwards. No arithmetic on seq
//   can overflow.
// - Memory is bounded both ways: an instance not heard from for
//   idle_expiry is forgotten, and beyond max_instances the least recently
//   heard from is forgotten. A forgotten instance that speaks again counts as
//   new (see the first rule), so a gap across its silence goes uncounted.
// - Each instance remembers the user of its last message (up to
//   k_max_user bytes), so that a loss can name whose changes it may hold.
class LossDetector {
public:
  using Clock = std::chrono::steady_clock;

  // a longer user name is not remembered: instances stay small
  static constexpr std::size_t k_max_user = 256;

  struct Options {
    Clock::duration idle_expiry = std::chrono::hours(1);
    std::size_t max_instances = 65536;
    // the most one gap can count as lost: well above what one process
    // sends while the daemon is away for hours
    std::uint64_t max_gap = 1000000;
    // how far back a seq may be and still be a duplicate; ZeroMQ keeps one
    // process's messages in order, so any step back is already odd
    std::uint64_t max_reorder = 1024;
  };

  struct Loss {
    enum class Kind {
      gap,   // lost messages were missing
      reset, // an implausible seq: nothing counted as lost (lost is 0)
    };
    Kind kind;
    std::uint64_t lost;      // how many messages are missing
    std::uint64_t after_seq; // the last seq seen before the gap
    std::uint64_t next_seq;  // the seq that revealed it
    std::string last_user;   // the user of the message at after_seq, or ""
  };

  LossDetector() : LossDetector(Options{}) {}
  explicit LossDetector(Options options);

  // Records message seq of inst, about user, at now. Returns the loss or
  // reset it reveals, or nothing.
  std::optional<Loss> observe(std::string_view inst, std::uint64_t seq,
                              Clock::time_point now = Clock::now(),
                              std::string_view user = {});

  // Returns how many instances are remembered.
  std::size_t size() const { return m_index.size(); }

private:
  struct Instance {
    std::string inst;
    std::uint64_t last_seq;
    Clock::time_point seen;
    std::string last_user;
  };
  using Recency = std::list<Instance>; // most recently seen first

  std::optional<Loss> judge(const Instance &instance, std::uint64_t seq) const;
  void evict(Clock::time_point now);

  Options m_options;
  Recency m_recency;
  // keys view the inst of their entry in m_recency (list nodes stay put):
  // looking up takes no copy
  std::unordered_map<std::string_view, Recency::iterator> m_index;
};

} // namespace dovewarden::core
