#pragma once

#include <array>
#include <string>
#include <string_view>

namespace dovewarden::util {

using Sha256Digest = std::array<unsigned char, 32>;

// Returns the SHA-256 digest of bytes (OpenSSL). Throws util::Fatal if
// OpenSSL fails.
Sha256Digest sha256(std::string_view bytes);

// Returns bytes as lower-case hex digits, two a byte.
std::string to_hex(std::string_view bytes);
// Returns the bytes hex digits stand for, or "" if text is not an even
// number of hex digits.
std::string from_hex(std::string_view text);

} // namespace dovewarden::util
