// CURVE keys as the settings of both sides spell them.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace dovewarden::curve {

constexpr std::size_t k_key_bytes = 32;

// Returns the 32 bytes of a CURVE key written in Z85 (40 characters,
// ZeroMQ's own form) or in hex (64 digits, which Dovecot's configuration
// takes as it is: Z85 has #, % and $ in its alphabet), or nothing.
std::optional<std::string> key_bytes(std::string_view text);

// Returns key (32 bytes) in hex.
std::string hex(std::string_view key);

} // namespace dovewarden::curve
