#include "util/HttpRequest.hpp"

#include <netinet/in.h>

#include <algorithm>
#include <cctype>

namespace dovewarden::util {

namespace {

bool same_name(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

int hex_value(char digit) {
  if (digit >= '0' && digit <= '9')
    return digit - '0';
  if (digit >= 'a' && digit <= 'f')
    return digit - 'a' + 10;
  if (digit >= 'A' && digit <= 'F')
    return digit - 'A' + 10;
  return -1;
}

// Decodes %XX, and + as a space in a query; a % without two hex digits
// stays as it is.
std::string decode(std::string_view text, bool plus_is_space) {
  std::string decoded;
  decoded.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); i++) {
    if (text[i] == '%' && i + 2 < text.size()) {
      const int high = hex_value(text[i + 1]);
      const int low = hex_value(text[i + 2]);
      if (high >= 0 && low >= 0) {
        decoded += static_cast<char>(high * 16 + low);
        i += 2;
        continue;
      }
    }
    decoded += plus_is_space && text[i] == '+' ? ' ' : text[i];
  }
  return decoded;
}

template <typename Pairs>
const std::string *find(const Pairs &pairs, std::string_view name,
                        bool any_case) {
  for (const auto &[key, value] : pairs) {
    if (any_case ? same_name(key, name) : key == name)
      return &value;
  }
  return nullptr;
}

} // namespace

std::string HttpRequest::header(std::string_view name) const {
  const auto *value = find(headers, name, true);
  return value ? *value : std::string();
}

bool HttpRequest::has_header(std::string_view name) const {
  return find(headers, name, true) != nullptr;
}

std::string HttpRequest::param(std::string_view name) const {
  const auto *value = find(params, name, false);
  return value ? *value : std::string();
}

bool HttpRequest::has_param(std::string_view name) const {
  return find(params, name, false) != nullptr;
}

bool HttpRequest::set_target(std::string_view target) {
  if (target.empty() || target.front() != '/')
    return false;
  const auto question = target.find('?');
  path = decode(target.substr(0, question), false);
  params.clear();
  if (question == std::string_view::npos)
    return true;
  auto query = target.substr(question + 1);
  while (!query.empty()) {
    const auto amp = query.find('&');
    const auto pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view()
                                          : query.substr(amp + 1);
    if (pair.empty())
      continue;
    const auto equals = pair.find('=');
    params.emplace_back(decode(pair.substr(0, equals), true),
                        equals == std::string_view::npos
                            ? std::string()
                            : decode(pair.substr(equals + 1), true));
  }
  return true;
}

std::uint16_t HttpRequest::remote_port() const {
  if (remote_address.ss_family == AF_INET &&
      remote_length >= sizeof(sockaddr_in))
    return ntohs(
        reinterpret_cast<const sockaddr_in &>(remote_address).sin_port);
  if (remote_address.ss_family == AF_INET6 &&
      remote_length >= sizeof(sockaddr_in6))
    return ntohs(
        reinterpret_cast<const sockaddr_in6 &>(remote_address).sin6_port);
  return 0;
}

} // namespace dovewarden::util
