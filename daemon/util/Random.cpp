#include "util/Random.hpp"

#include "util/Fatal.hpp"

#include <openssl/rand.h>

#include <chrono>
#include <cstdint>

namespace dovewarden::util {

namespace {

constexpr std::string_view k_base62 =
    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
constexpr std::size_t k_id_length = 22;
// the largest multiple of 62 that fits a byte: bytes at or above it are
// drawn again, so that every character is equally likely
constexpr unsigned k_unbiased_limit = 256 / 62 * 62;

// base62 of milliseconds since 1970: fixed width, good for 6900 years
constexpr std::size_t k_time_length = 8;
constexpr std::size_t k_sortable_random_length = 16;

} // namespace

std::string random_bytes(std::size_t count) {
  std::string bytes(count, '\0');
  if (count > 0 && RAND_bytes(reinterpret_cast<unsigned char *>(bytes.data()),
                              static_cast<int>(count)) != 1)
    throw Fatal("RAND_bytes failed: the random generator is not available");
  return bytes;
}

namespace {

void append_random(std::string &id, std::size_t count) {
  const std::size_t length = id.size() + count;
  id.reserve(length);
  while (id.size() < length) {
    // 8 of 256 byte values are drawn again: 32 bytes nearly always suffice
    for (const char byte : random_bytes(32)) {
      const auto value = static_cast<unsigned char>(byte);
      if (value < k_unbiased_limit && id.size() < length)
        id += k_base62[value % 62];
    }
  }
}

} // namespace

std::string random_id(std::string_view prefix) {
  std::string id(prefix);
  append_random(id, k_id_length);
  return id;
}

std::string sortable_id(std::string_view prefix) {
  auto ms = static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(
          std::chrono::system_clock::now().time_since_epoch())
          .count());
  std::string id(prefix);
  id.resize(prefix.size() + k_time_length);
  for (std::size_t i = id.size(); i > prefix.size(); i--) {
    id[i - 1] = k_base62[ms % 62];
    ms /= 62;
  }
  append_random(id, k_sortable_random_length);
  return id;
}

} // namespace dovewarden::util
