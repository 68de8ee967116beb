#include "sources/PeerPolicy.hpp"

#include "util/Strings.hpp"
#include "util/System.hpp"

#include <limits>
#include <optional>

namespace dovewarden::sources {

namespace {

constexpr std::uint64_t k_max_id = std::numeric_limits<std::uint32_t>::max();

// Reads one id: a number, or a name this machine knows. Returns nothing for
// an unknown name, an error text for a bad number.
tl::expected<std::optional<std::uint32_t>, std::string>
read_id(std::string_view text, PeerPolicy::Kind kind) {
  if (!text.empty() && text[0] >= '0' && text[0] <= '9') {
    const auto number = util::parse_unsigned(text, k_max_id);
    if (!number)
      return tl::unexpected(util::quote(text) + ": " + number.error());
    return static_cast<std::uint32_t>(*number);
  }
  const std::string name(text);
  if (kind == PeerPolicy::Kind::user)
    return util::user_id(name);
  return util::group_id(name);
}

} // namespace

tl::expected<PeerPolicy::Ids, std::string>
PeerPolicy::Ids::parse(std::string_view text, Kind kind, bool skip_unknown) {
  Ids ids;
  if (util::trim(text) == "*") {
    ids.m_any = true;
    return ids;
  }
  for (const auto item : util::split(text, ',')) {
    // ranges are numeric: names may hold a dash (www-data)
    const bool numeric = item[0] >= '0' && item[0] <= '9';
    const auto dash = numeric ? item.find('-') : std::string_view::npos;
    const auto first_text = util::trim(item.substr(0, dash));
    const auto last_text = dash == std::string_view::npos
                               ? first_text
                               : util::trim(item.substr(dash + 1));
    const auto first = read_id(first_text, kind);
    if (!first)
      return tl::unexpected(first.error());
    const auto last = read_id(last_text, kind);
    if (!last)
      return tl::unexpected(last.error());
    if (!*first || !*last) {
      if (skip_unknown)
        continue;
      return tl::unexpected(
          std::string(kind == Kind::user ? "unknown user " : "unknown group ") +
          util::quote(!*first ? first_text : last_text));
    }
    if (**first > **last)
      return tl::unexpected("empty range " + util::quote(item));
    ids.m_ranges.push_back(Range{**first, **last});
  }
  return ids;
}

bool PeerPolicy::Ids::contains(std::uint32_t id) const {
  for (const auto &range : m_ranges)
    if (id >= range.first && id <= range.last)
      return true;
  return false;
}

} // namespace dovewarden::sources
