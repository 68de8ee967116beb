#pragma once

#include <tl/expected.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace dovewarden::util {

// Returns text without leading and trailing spaces and tabs.
std::string_view trim(std::string_view text);

// Returns the pieces of text between separators, trimmed; empty pieces are
// dropped.
std::vector<std::string_view> split(std::string_view text, char separator);

// Parses a whole decimal (base 10) or octal (base 8) number. Returns the
// number, or an error text when text is empty, has other characters or is
// larger than max.
tl::expected<std::uint64_t, std::string>
parse_unsigned(std::string_view text, std::uint64_t max, int base = 10);

// Returns true if text holds a control character.
bool has_control(std::string_view text);

// Appends byte to out, as \xNN if it is a control character.
void append_printable(std::string &out, char byte);

// Returns text in double quotes with control characters escaped, for log and
// error lines that quote what an operator typed.
std::string quote(std::string_view text);

// Returns a file mode's permission bits as four octal digits, e.g. "0640".
std::string octal_mode(unsigned mode);

} // namespace dovewarden::util
