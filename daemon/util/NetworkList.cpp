#include "util/NetworkList.hpp"

#include "util/Strings.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstring>

namespace dovewarden::util {

tl::expected<NetworkList, std::string>
NetworkList::parse(std::string_view text) {
  NetworkList list;
  for (const auto item : split(text, ',')) {
    const auto fail = [&](const std::string &why) {
      return tl::unexpected(quote(item) + ": " + why);
    };
    const auto slash = item.find('/');
    const std::string address(item.substr(0, slash));
    Network network;
    if (inet_pton(AF_INET, address.c_str(), network.bytes.data()) == 1)
      network.family = AF_INET;
    else if (inet_pton(AF_INET6, address.c_str(), network.bytes.data()) == 1)
      network.family = AF_INET6;
    else
      return fail("not an IPv4 or IPv6 address or network");
    const unsigned bits = network.family == AF_INET ? 32 : 128;
    network.prefix = bits;
    if (slash != std::string_view::npos) {
      const auto prefix = parse_unsigned(item.substr(slash + 1), bits);
      if (!prefix)
        return fail("the prefix length must be a number from 0 to " +
                    std::to_string(bits));
      network.prefix = static_cast<unsigned>(*prefix);
    }
    std::array<std::uint8_t, 16> masked{};
    for (unsigned bit = 0; bit < network.prefix; bit++)
      masked[bit / 8] |= network.bytes[bit / 8] & (0x80 >> (bit % 8));
    if (masked != network.bytes)
      return fail("bits are set after the prefix; did you mean " +
                  text_of(network.family, masked.data()) + "/" +
                  std::to_string(network.prefix) + "?");
    list.m_networks.push_back(network);
  }
  return list;
}

bool NetworkList::contains(int family, const std::uint8_t *bytes) const {
  for (const auto &network : m_networks)
    if (network.family == family &&
        same_prefix(bytes, network.bytes.data(), network.prefix))
      return true;
  return false;
}

bool NetworkList::contains(const sockaddr &address, socklen_t length) const {
  if (address.sa_family == AF_INET && length >= sizeof(sockaddr_in)) {
    const auto &v4 = reinterpret_cast<const sockaddr_in &>(address);
    return contains(AF_INET,
                    reinterpret_cast<const std::uint8_t *>(&v4.sin_addr));
  }
  if (address.sa_family == AF_INET6 && length >= sizeof(sockaddr_in6)) {
    const auto &v6 = reinterpret_cast<const sockaddr_in6 &>(address);
    const auto *bytes = reinterpret_cast<const std::uint8_t *>(&v6.sin6_addr);
    return contains(AF_INET6, bytes) || (IN6_IS_ADDR_V4MAPPED(&v6.sin6_addr) &&
                                         contains(AF_INET, bytes + 12));
  }
  return false;
}

std::string NetworkList::to_string() const {
  std::string text;
  for (const auto &network : m_networks) {
    if (!text.empty())
      text += ',';
    text += text_of(network.family, network.bytes.data()) + "/" +
            std::to_string(network.prefix);
  }
  return text;
}

bool NetworkList::same_prefix(const std::uint8_t *a, const std::uint8_t *b,
                              unsigned prefix) {
  const unsigned whole = prefix / 8;
  if (std::memcmp(a, b, whole) != 0)
    return false;
  const unsigned rest = prefix % 8;
  if (rest == 0)
    return true;
  const auto mask = static_cast<std::uint8_t>(0xff << (8 - rest));
  return (a[whole] & mask) == (b[whole] & mask);
}

std::string NetworkList::text_of(int family, const std::uint8_t *bytes) {
  char text[INET6_ADDRSTRLEN];
  if (!inet_ntop(family, bytes, text, sizeof(text)))
    return "?";
  return text;
}

} // namespace dovewarden::util
