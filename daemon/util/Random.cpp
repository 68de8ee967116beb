#include "util/Random.hpp"

#include "util/Fatal.hpp"

#include <openssl/rand.h>

namespace dovewarden::util {

namespace {

constexpr std::string_view k_base62 =
    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
constexpr std::size_t k_id_length = 22;
// the largest multiple of 62 that fits a byte: bytes at or above it are
// drawn again, so that every character is equally likely
constexpr unsigned k_unbiased_limit = 256 / 62 * 62;

} // namespace

std::string random_bytes(std::size_t count) {
  std::string bytes(count, '\0');
  if (count > 0 && RAND_bytes(reinterpret_cast<unsigned char *>(bytes.data()),
                              static_cast<int>(count)) != 1)
    throw Fatal("RAND_bytes failed: the random generator is not available");
  return bytes;
}

std::string random_id(std::string_view prefix) {
  std::string id(prefix);
  id.reserve(prefix.size() + k_id_length);
  while (id.size() < prefix.size() + k_id_length) {
    // 8 of 256 byte values are drawn again: 32 bytes nearly always suffice
    for (const char byte : random_bytes(32)) {
      const auto value = static_cast<unsigned char>(byte);
      if (value < k_unbiased_limit && id.size() < prefix.size() + k_id_length)
        id += k_base62[value % 62];
    }
  }
  return id;
}

} // namespace dovewarden::util
