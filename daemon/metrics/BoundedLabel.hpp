#pragma once

#include <cstddef>
#include <functional>
#include <mutex>
#include <set>
#include <string>
#include <string_view>

namespace dovewarden::metrics {

// Keeps a metric label's values few, whatever senders put in the field: a
// value is kept if known() says so or if it is among the first max_seen
// others; the rest become "other". Thread-safe.
class BoundedLabel {
public:
  static constexpr std::string_view k_other = "other";

  BoundedLabel(std::size_t max_seen,
               std::function<bool(std::string_view)> known = {});

  // Returns value itself if it may be a label value, otherwise "other"
  // (and "unknown" for an empty value).
  std::string admit(std::string_view value);

private:
  const std::size_t m_max_seen;
  const std::function<bool(std::string_view)> m_known;
  std::mutex m_mutex;
  std::set<std::string, std::less<>> m_seen;
};

} // namespace dovewarden::metrics
