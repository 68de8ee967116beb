#pragma once

#include <tl/expected.hpp>

#include <sys/socket.h>

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace dovewarden::util {

// A list of IPv4 and IPv6 networks, and whether an address is in one.
class NetworkList {
public:
  // Parses CIDRs or bare addresses, v4 or v6, separated by commas
  // ("127.0.0.1/32,10.0.0.0/8,::1"). Returns the list, or an error text
  // naming the first bad item.
  static tl::expected<NetworkList, std::string> parse(std::string_view text);

  // Returns true if a network of the list holds the address of family
  // (AF_INET: 4 bytes, AF_INET6: 16 bytes).
  bool contains(int family, const std::uint8_t *bytes) const;
  // Returns true if a network holds address, a v4-mapped v6 address judged
  // as v4 too. False for families other than AF_INET and AF_INET6.
  bool contains(const sockaddr &address, socklen_t length) const;

  bool empty() const { return m_networks.empty(); }
  // Returns the list in the form parse() reads, "" if empty.
  std::string to_string() const;

  // Returns true if the first prefix bits of a and b are equal.
  static bool same_prefix(const std::uint8_t *a, const std::uint8_t *b,
                          unsigned prefix);
  // Returns the address in its text form ("10.0.0.1", "::1").
  static std::string text_of(int family, const std::uint8_t *bytes);

private:
  struct Network {
    int family = 0; // AF_INET (first 4 bytes used) or AF_INET6
    std::array<std::uint8_t, 16> bytes{};
    unsigned prefix = 0;
  };

  std::vector<Network> m_networks;
};

} // namespace dovewarden::util
