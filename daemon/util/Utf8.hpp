#pragma once

#include <string>
#include <string_view>

namespace dovewarden::util {

// Returns text with each byte that does not belong to a well-formed UTF-8
// sequence (RFC 3629: no overlong forms, surrogates or code points past
// U+10FFFF) replaced by U+FFFD, as JSON output replaces it: text that must
// read back the same after a trip through JSON.
std::string to_valid_utf8(std::string_view text);

// Returns whether text is well-formed UTF-8, as to_valid_utf8() would leave
// it.
bool is_valid_utf8(std::string_view text);

} // namespace dovewarden::util
