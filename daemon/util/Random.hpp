#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace dovewarden::util {

// Returns count bytes from OpenSSL's CSPRNG. Throws util::Fatal if it fails.
std::string random_bytes(std::size_t count);
// Returns prefix + 22 random base62 characters (~131 bits), e.g. "ep_…".
std::string random_id(std::string_view prefix);
// Returns prefix + the time in milliseconds as 8 base62 characters + 16
// random ones (~95 bits): ids made later sort after (as KSUIDs do), so
// that a store's index on them grows at one end instead of everywhere.
std::string sortable_id(std::string_view prefix);

} // namespace dovewarden::util
