#include "sources/PeerAddress.hpp"

#include "util/Strings.hpp"

#include <limits>

namespace dovewarden::sources {

namespace {

// Takes the last ":NUMBER" off text. Returns the number, or nothing.
std::optional<std::uint64_t> take_last(std::string_view &text,
                                       std::uint64_t max) {
  const auto colon = text.rfind(':');
  if (colon == std::string_view::npos)
    return std::nullopt;
  const auto number = util::parse_unsigned(text.substr(colon + 1), max);
  if (!number)
    return std::nullopt;
  text = text.substr(0, colon);
  return *number;
}

} // namespace

std::optional<core::Sender> peer_credentials(std::string_view address) {
  constexpr std::uint64_t max_id = std::numeric_limits<std::uint32_t>::max();
  constexpr std::uint64_t max_pid = std::numeric_limits<std::int32_t>::max();
  const auto pid = take_last(address, max_pid);
  const auto gid = pid ? take_last(address, max_id) : std::nullopt;
  const auto uid = gid ? take_last(address, max_id) : std::nullopt;
  if (!uid)
    return std::nullopt;
  return core::Sender{static_cast<std::uint32_t>(*uid),
                      static_cast<std::uint32_t>(*gid),
                      static_cast<std::int64_t>(*pid)};
}

} // namespace dovewarden::sources
