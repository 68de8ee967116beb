#include "util/EditDistance.hpp"

#include <algorithm>
#include <cctype>

namespace dovewarden::util {

namespace {

bool same(char a, char b) {
  return std::tolower(static_cast<unsigned char>(a)) ==
         std::tolower(static_cast<unsigned char>(b));
}

} // namespace

std::size_t edit_distance(std::string_view a, std::string_view b) {
  // three rows of the table: i - 2, i - 1 and i
  std::vector<std::size_t> before(b.size() + 1), previous(b.size() + 1),
      current(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); j++)
    previous[j] = j;
  for (std::size_t i = 1; i <= a.size(); i++) {
    current[0] = i;
    for (std::size_t j = 1; j <= b.size(); j++) {
      const std::size_t cost = same(a[i - 1], b[j - 1]) ? 0 : 1;
      current[j] = std::min(
          {previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost});
      if (i > 1 && j > 1 && same(a[i - 1], b[j - 2]) &&
          same(a[i - 2], b[j - 1]))
        current[j] = std::min(current[j], before[j - 2] + 1);
    }
    std::swap(before, previous);
    std::swap(previous, current);
  }
  return previous[b.size()];
}

std::optional<std::string>
nearest_name(std::string_view name,
             const std::vector<std::string_view> &candidates,
             std::size_t most_edits) {
  const std::size_t allowed =
      std::min(most_edits, std::max<std::size_t>(1, name.size() / 3));
  std::optional<std::string_view> best;
  std::size_t best_distance = allowed + 1;
  for (const auto candidate : candidates) {
    const auto distance = edit_distance(name, candidate);
    if (distance < best_distance) {
      best = candidate;
      best_distance = distance;
    }
  }
  if (!best)
    return std::nullopt;
  return std::string(*best);
}

std::string did_you_mean(const std::optional<std::string> &nearest) {
  return nearest ? "; did you mean '" + *nearest + "'?" : "";
}

std::string did_you_mean(std::string_view name,
                         const std::vector<std::string_view> &candidates,
                         std::size_t most_edits) {
  return did_you_mean(nearest_name(name, candidates, most_edits));
}

} // namespace dovewarden::util
