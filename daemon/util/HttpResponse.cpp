#include "util/HttpResponse.hpp"

#include <strings.h>

namespace dovewarden::util {

void HttpResponse::set_content(std::string content,
                               std::string_view content_type) {
  body = std::move(content);
  set_header("Content-Type", std::string(content_type));
}

void HttpResponse::set_header(std::string_view name, std::string value) {
  for (auto &[key, old] : headers) {
    if (key.size() == name.size() &&
        ::strncasecmp(key.data(), name.data(), name.size()) == 0) {
      old = std::move(value);
      return;
    }
  }
  headers.emplace_back(std::string(name), std::move(value));
}

std::string HttpResponse::header(std::string_view name) const {
  for (const auto &[key, value] : headers) {
    if (key.size() == name.size() &&
        ::strncasecmp(key.data(), name.data(), name.size()) == 0)
      return value;
  }
  return {};
}

} // namespace dovewarden::util
