#include "util/ManText.hpp"

#include <array>
#include <string_view>
#include <utility>

namespace dovewarden::util::man {

namespace {

constexpr std::array<std::pair<std::string_view, std::string_view>, 10>
    k_replacements{{
        {"\\", "\\e"},
        {"-", "\\-"},
        {",", ",\\:"},           // long lists of values may break after a comma
        {"\xE2\x80\xA6", "..."}, // …
        {"\xC2\xB1", "\\(+-"},   // ±
        {"\xE2\x80\x93", "\\(en"}, // –
        {"\xE2\x80\x94", "\\(em"}, // —
        {"\xE2\x80\x99", "'"},     // ’
        {"\xE2\x80\x9C", "\""},    // “
        {"\xE2\x80\x9D", "\""},    // ”
    }};

} // namespace

std::string header(const std::string &title, int section,
                   const std::string &manual) {
  // no date or version: the committed pages must not change with a release
  return ".TH " + title + " " + std::to_string(section) +
         " \"\" \"dovewarden\" \"" + manual +
         "\"\n"
         // ragged right, no hyphenation: long values cannot be spread over a
         // justified line, and a name split in two cannot be copied. groff's
         // man macros set the adjustment again at each paragraph, from AD.
         ".ad l\n.ds AD l\n.nh\n";
}

std::string escape(const std::string &text) {
  std::string out;
  for (std::size_t i = 0; i < text.size();) {
    bool replaced = false;
    for (const auto &[from, to] : k_replacements) {
      if (text.compare(i, from.size(), from) == 0) {
        out += to;
        i += from.size();
        replaced = true;
        break;
      }
    }
    if (!replaced)
      out += text[i++];
  }
  return out;
}

std::string text(const std::string &markdown) {
  std::string out;
  bool in_code = false;
  std::size_t start = 0;
  for (std::size_t i = 0; i <= markdown.size(); ++i) {
    if (i < markdown.size() && markdown[i] != '`')
      continue;
    out += escape(markdown.substr(start, i - start));
    if (i < markdown.size())
      out += in_code ? "\\fR" : "\\fB";
    in_code = !in_code;
    start = i + 1;
  }
  // a line may not begin with . or ', which troff reads as a request
  if (!out.empty() && (out[0] == '.' || out[0] == '\''))
    out.insert(0, "\\&");
  return out;
}

} // namespace dovewarden::util::man
