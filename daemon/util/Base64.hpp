#pragma once

#include <tl/expected.hpp>

#include <string>
#include <string_view>

namespace dovewarden::util {

// Returns bytes in standard base64 with padding.
std::string base64_encode(std::string_view bytes);
// Returns the bytes text encodes (standard alphabet, padding optional), or
// an error text.
tl::expected<std::string, std::string> base64_decode(std::string_view text);

} // namespace dovewarden::util
