#include "util/Duration.hpp"

#include "util/Strings.hpp"

#include <array>
#include <cstdint>
#include <limits>

namespace dovewarden::util {

namespace {

struct Unit {
  std::string_view suffix;
  std::int64_t millis;
};

// longest suffix first so that "ms" is not read as "m"
constexpr std::array<Unit, 5> k_units{{
    {"ms", 1},
    {"s", 1000},
    {"m", std::int64_t{60} * 1000},
    {"h", std::int64_t{60} * 60 * 1000},
    {"d", std::int64_t{24} * 60 * 60 * 1000},
}};

constexpr const char *k_expected =
    "expected a number with a unit: ms, s, m, h or d (e.g. 500ms, 5s)";

} // namespace

tl::expected<std::chrono::milliseconds, std::string>
parse_duration(std::string_view text) {
  for (const auto &unit : k_units) {
    if (text.size() <= unit.suffix.size() ||
        text.substr(text.size() - unit.suffix.size()) != unit.suffix)
      continue;
    const auto number = text.substr(0, text.size() - unit.suffix.size());
    const auto max = static_cast<std::uint64_t>(
        std::numeric_limits<std::int64_t>::max() / unit.millis);
    const auto value = parse_unsigned(number, max);
    if (!value)
      return tl::unexpected(std::string(k_expected));
    return std::chrono::milliseconds(static_cast<std::int64_t>(*value) *
                                     unit.millis);
  }
  return tl::unexpected(std::string(k_expected));
}

std::string format_duration(std::chrono::milliseconds duration) {
  const auto millis = duration.count();
  if (millis == 0)
    return "0s";
  for (auto it = k_units.rbegin(); it != k_units.rend(); ++it) {
    if (millis % it->millis == 0)
      return std::to_string(millis / it->millis) + std::string(it->suffix);
  }
  return std::to_string(millis) + "ms";
}

} // namespace dovewarden::util
