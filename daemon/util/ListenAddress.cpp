#include "util/ListenAddress.hpp"

#include "util/Strings.hpp"

namespace dovewarden::util {

namespace {

constexpr const char *k_expected = "expected HOST:PORT, [IPV6]:PORT or :PORT";

tl::expected<ListenAddress, std::string> fail(const std::string &why) {
  return tl::unexpected(why);
}

} // namespace

tl::expected<ListenAddress, std::string>
ListenAddress::parse(std::string_view text) {
  const auto colon = text.rfind(':');
  if (colon == std::string_view::npos)
    return fail(k_expected);
  auto host = text.substr(0, colon);
  if (!host.empty() && host.front() == '[') {
    if (host.size() < 3 || host.back() != ']')
      return fail(k_expected);
    host = host.substr(1, host.size() - 2);
  } else if (host.find_first_of(":[]") != std::string_view::npos) {
    return fail(k_expected);
  }
  if (host.find_first_of(" \t/") != std::string_view::npos)
    return fail(k_expected);
  const auto port = parse_unsigned(text.substr(colon + 1), 65535);
  if (!port || *port == 0)
    return fail("port must be a number from 1 to 65535");
  return ListenAddress{std::string(host), static_cast<std::uint16_t>(*port)};
}

std::string ListenAddress::to_string() const {
  const auto port_text = std::to_string(port);
  if (host.find(':') != std::string::npos)
    return "[" + host + "]:" + port_text;
  return host + ":" + port_text;
}

} // namespace dovewarden::util
