#include "util/Strings.hpp"

#include <charconv>
#include <cstdio>

namespace dovewarden::util {

std::string_view trim(std::string_view text) {
  const auto first = text.find_first_not_of(" \t");
  if (first == std::string_view::npos)
    return {};
  const auto last = text.find_last_not_of(" \t");
  return text.substr(first, last - first + 1);
}

std::vector<std::string_view> split(std::string_view text, char separator) {
  std::vector<std::string_view> pieces;
  std::size_t start = 0;
  while (start <= text.size()) {
    auto end = text.find(separator, start);
    if (end == std::string_view::npos)
      end = text.size();
    const auto piece = trim(text.substr(start, end - start));
    if (!piece.empty())
      pieces.push_back(piece);
    start = end + 1;
  }
  return pieces;
}

tl::expected<std::uint64_t, std::string>
parse_unsigned(std::string_view text, std::uint64_t max, int base) {
  std::uint64_t value = 0;
  const char *end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value, base);
  if (text.empty() || ec == std::errc::invalid_argument || ptr != end)
    return tl::unexpected(std::string(base == 8 ? "expected an octal number"
                                                : "expected a number"));
  if (ec == std::errc::result_out_of_range || value > max)
    return tl::unexpected("expected at most " + std::to_string(max));
  return value;
}

bool has_control(std::string_view text) {
  for (const char c : text) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
      return true;
  }
  return false;
}

void append_printable(std::string &out, char byte) {
  const auto code = static_cast<unsigned char>(byte);
  if (code >= 0x20 && code != 0x7f) {
    out += byte;
    return;
  }
  char escaped[8];
  std::snprintf(escaped, sizeof(escaped), "\\x%02x", code);
  out += escaped;
}

std::string quote(std::string_view text) {
  std::string out = "\"";
  for (const char c : text) {
    if (c == '"' || c == '\\')
      out += '\\';
    append_printable(out, c);
  }
  out += '"';
  return out;
}

std::string octal_mode(unsigned mode) {
  char text[8];
  std::snprintf(text, sizeof(text), "%04o", mode & 07777);
  return text;
}

} // namespace dovewarden::util
