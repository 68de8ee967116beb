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
// - A seq at or below the last one seen (duplicate, reordering) is not a loss
//   and does not move the mark back.
// - Memory is bounded both ways: an instance not heard from for
//   idle_expiry is forgotten, and beyond max_instances the least recently
//   heard from is forgotten. A forgotten instance that speaks again counts as
//   new (see the first rule), so a gap across its silence goes uncounted.
class LossDetector {
public:
  using Clock = std::chrono::steady_clock;

  struct Options {
    Clock::duration idle_expiry = std::chrono::hours(1);
    std::size_t max_instances = 65536;
  };

  struct Loss {
    std::uint64_t lost;      // how many messages are missing
    std::uint64_t after_seq; // the last seq seen before the gap
    std::uint64_t next_seq;  // the seq that revealed it
  };

  LossDetector() : LossDetector(Options{}) {}
  explicit LossDetector(Options options);

  // Records message seq of inst at now. Returns the loss it reveals, or
  // nothing.
  std::optional<Loss> observe(std::string_view inst, std::uint64_t seq,
                              Clock::time_point now = Clock::now());

  // Returns how many instances are remembered.
  std::size_t size() const { return m_index.size(); }

private:
  struct Instance {
    std::string inst;
    std::uint64_t last_seq;
    Clock::time_point seen;
  };
  using Recency = std::list<Instance>; // most recently seen first

  void evict(Clock::time_point now);

  Options m_options;
  Recency m_recency;
  // keys view the inst of their entry in m_recency (list nodes stay put):
  // looking up takes no copy
  std::unordered_map<std::string_view, Recency::iterator> m_index;
};

} // namespace dovewarden::core
