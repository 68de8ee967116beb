#include "store/Priority.hpp"

#include <array>

namespace dovewarden::store {

namespace {

constexpr std::array<const char *, k_priority_count> k_names{"none", "low",
                                                             "high", "sync"};

} // namespace

const char *priority_name(Priority priority) {
  return k_names.at(static_cast<std::size_t>(priority));
}

std::optional<Priority> parse_priority(std::string_view text) {
  for (std::size_t i = 0; i < k_names.size(); i++) {
    if (text == k_names[i])
      return static_cast<Priority>(i);
  }
  return std::nullopt;
}

Priority priority_of(std::int64_t value) {
  if (value < 0 || value >= k_priority_count)
    return Priority::none;
  return static_cast<Priority>(value);
}

} // namespace dovewarden::store
