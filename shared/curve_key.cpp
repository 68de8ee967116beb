#include "curve_key.hpp"

#include <zmq.h>

#include <cstdint>

namespace dovewarden::curve {

namespace {

constexpr std::size_t k_z85_length = 40;
constexpr const char *k_digits = "0123456789abcdef";

int nibble(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

} // namespace

std::optional<std::string> key_bytes(std::string_view text) {
  std::string key(k_key_bytes, '\0');
  if (text.size() == k_z85_length) {
    const std::string z85(text); // zmq_z85_decode wants a C string
    if (::zmq_z85_decode(reinterpret_cast<std::uint8_t *>(key.data()),
                         z85.c_str()) == nullptr)
      return std::nullopt;
    return key;
  }
  if (text.size() != 2 * k_key_bytes)
    return std::nullopt;
  for (std::size_t i = 0; i < k_key_bytes; i++) {
    const int high = nibble(text[2 * i]);
    const int low = nibble(text[2 * i + 1]);
    if (high < 0 || low < 0)
      return std::nullopt;
    key[i] = static_cast<char>(high * 16 + low);
  }
  return key;
}

std::string hex(std::string_view key) {
  std::string text;
  text.reserve(2 * key.size());
  for (const char byte : key) {
    const auto value = static_cast<unsigned char>(byte);
    text += k_digits[value >> 4];
    text += k_digits[value & 0xf];
  }
  return text;
}

} // namespace dovewarden::curve
