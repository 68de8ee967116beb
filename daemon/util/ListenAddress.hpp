#pragma once

#include <tl/expected.hpp>

#include <cstdint>
#include <string>
#include <string_view>

namespace dovewarden::util {

// Where a TCP listener binds: "HOST:PORT", "[v6addr]:PORT", or ":PORT" for
// every interface.
struct ListenAddress {
  std::string host; // empty: every interface
  std::uint16_t port = 0;

  // Parses text. Returns the address, or an error text.
  static tl::expected<ListenAddress, std::string> parse(std::string_view text);

  // Returns the address in the form parse() reads.
  std::string to_string() const;
};

} // namespace dovewarden::util
