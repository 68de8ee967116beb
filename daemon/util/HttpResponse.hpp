#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace dovewarden::util {

// The answer a handler fills in. The listener adds Content-Length and
// Connection.
struct HttpResponse {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;

  // Sets the body and its Content-Type.
  void set_content(std::string content, std::string_view content_type);
  // Sets a header field, replacing one of the same name.
  void set_header(std::string_view name, std::string value);
  // Returns the field called name (case-insensitive), "" if none.
  std::string header(std::string_view name) const;
};

} // namespace dovewarden::util
