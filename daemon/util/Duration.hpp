#pragma once

#include <tl/expected.hpp>

#include <chrono>
#include <string>
#include <string_view>

namespace dovewarden::util {

// Parses a number with one unit: "500ms", "5s", "1m", "1h", "1d". A bare
// number is rejected: "5" could mean seconds or milliseconds, and guessing
// wrong is worse than asking. Returns the duration, or an error text.
tl::expected<std::chrono::milliseconds, std::string>
parse_duration(std::string_view text);

// Returns duration in the largest unit that divides it ("90s", "2h", "0s").
std::string format_duration(std::chrono::milliseconds duration);

} // namespace dovewarden::util
