#include "util/PathPattern.hpp"

#include <algorithm>
#include <stdexcept>

namespace dovewarden::util {

namespace {

constexpr std::string_view k_segment = "{}";
constexpr std::string_view k_rest = "{...}";

bool starts_with(std::string_view text, std::size_t at,
                 std::string_view prefix) {
  return text.substr(at, prefix.size()) == prefix;
}

} // namespace

PathPattern::PathPattern(std::string pattern) : m_pattern(std::move(pattern)) {
  const auto rest = m_pattern.find(k_rest);
  if (rest != std::string::npos && rest + k_rest.size() != m_pattern.size())
    throw std::invalid_argument("\"{...}\" is not at the end of " + m_pattern);
}

bool PathPattern::match(std::string_view path,
                        std::vector<std::string> &captures) const {
  const std::string_view pattern = m_pattern;
  std::vector<std::string_view> found; // copied only once all matches
  std::size_t p = 0;
  std::size_t q = 0;
  while (p < pattern.size()) {
    if (starts_with(pattern, p, k_rest)) {
      if (q == path.size())
        return false;
      found.emplace_back(path.substr(q));
      q = path.size();
      p += k_rest.size();
    } else if (starts_with(pattern, p, k_segment)) {
      const auto end = std::min(path.find('/', q), path.size());
      if (end == q)
        return false;
      found.emplace_back(path.substr(q, end - q));
      q = end;
      p += k_segment.size();
    } else if (q < path.size() && path[q] == pattern[p]) {
      p++;
      q++;
    } else {
      return false;
    }
  }
  if (q != path.size())
    return false;
  captures.assign(1, std::string(path));
  captures.insert(captures.end(), found.begin(), found.end());
  return true;
}

} // namespace dovewarden::util
