#pragma once

#include <string>

// Writing man pages in troff (man(7) macros).
namespace dovewarden::util::man {

// The page's .TH line and the settings every page shares.
std::string header(const std::string &title, int section,
                   const std::string &manual);

// text with troff's special characters escaped: backslashes, hyphens (so
// that flags stay ASCII when copied), and the few non-ASCII characters the
// docs use.
std::string escape(const std::string &text);

// Markdown-lite prose as troff: escape()d, `code` in bold, and no line that
// troff would take for a request.
std::string text(const std::string &markdown);

} // namespace dovewarden::util::man
