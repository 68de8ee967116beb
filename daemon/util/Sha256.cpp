#include "util/Sha256.hpp"

#include "util/Fatal.hpp"

#include <openssl/evp.h>

namespace dovewarden::util {

Sha256Digest sha256(std::string_view bytes) {
  Sha256Digest result{};
  unsigned int size = 0;
  if (EVP_Digest(bytes.data(), bytes.size(), result.data(), &size, EVP_sha256(),
                 nullptr) != 1 ||
      size != result.size())
    throw Fatal("EVP_Digest(sha256) failed");
  return result;
}

std::string to_hex(std::string_view bytes) {
  static constexpr char k_digits[] = "0123456789abcdef";
  std::string text;
  text.reserve(bytes.size() * 2);
  for (const unsigned char byte : bytes) {
    text += k_digits[byte >> 4];
    text += k_digits[byte & 0x0f];
  }
  return text;
}

namespace {

int digit_value(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

} // namespace

std::string from_hex(std::string_view text) {
  if (text.size() % 2 != 0)
    return {};
  std::string bytes;
  bytes.reserve(text.size() / 2);
  for (std::size_t i = 0; i < text.size(); i += 2) {
    const int high = digit_value(text[i]);
    const int low = digit_value(text[i + 1]);
    if (high < 0 || low < 0)
      return {};
    bytes += static_cast<char>((high << 4) | low);
  }
  return bytes;
}

} // namespace dovewarden::util
