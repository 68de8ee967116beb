#pragma once

#include <string_view>

namespace dovewarden::util {

// Returns true if text matches pattern as a whole, where "*" matches any run
// of characters (dots included) and "?" any one character.
bool glob_match(std::string_view pattern, std::string_view text);

} // namespace dovewarden::util
