#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace dovewarden::util {

// Returns count bytes from OpenSSL's CSPRNG. Throws util::Fatal if it fails.
std::string random_bytes(std::size_t count);
// Returns prefix + 22 random base62 characters (~131 bits), e.g. "ep_…".
std::string random_id(std::string_view prefix);

} // namespace dovewarden::util
