#pragma once

#include "shared/wire.hpp"
#include "util/Throttle.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace dovewarden::sources {

// Logs rejected messages: each one at debug level, and at most once a minute
// a warning that sums up the rejections since the last one. Not thread-safe:
// one per receiving thread.
class RejectSummary {
public:
  explicit RejectSummary(std::string source);

  // Records a rejected message of size bytes.
  void record(wire::Reject reason, std::size_t size);
  // Records a message of size bytes rejected for reason, a short snake_case
  // name.
  void record(std::string_view reason, std::size_t size);
  // Writes the summary if one is due; call it now and then when idle.
  void tick();
  // Writes the summary of what is still unreported, due or not.
  void flush();

private:
  void report();

  std::string m_source;
  util::Throttle m_throttle;
  // reasons in the order first seen; there are only a handful
  std::vector<std::pair<std::string, std::uint64_t>> m_counts;
  std::uint64_t m_pending = 0;
};

} // namespace dovewarden::sources
