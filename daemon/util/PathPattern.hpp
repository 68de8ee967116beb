#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace dovewarden::util {

// The path a route answers: literal text, where "{}" stands for one
// non-empty segment (no "/") and a final "{...}" for the non-empty rest of
// the path, "/" included: "/v1/webhooks/{}/test", "/v1/users/{...}".
// Matching is one pass over the path, however long it is.
class PathPattern {
public:
  // Throws std::invalid_argument if "{...}" is not at the end.
  explicit PathPattern(std::string pattern);

  // Returns true if the whole path matches; captures then holds the path
  // and what each placeholder stood for, in order.
  bool match(std::string_view path, std::vector<std::string> &captures) const;

private:
  std::string m_pattern;
};

} // namespace dovewarden::util
