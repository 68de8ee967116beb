#include "util/Base64.hpp"

#include <openssl/evp.h>

#include <cstddef>

namespace dovewarden::util {

namespace {

bool is_base64_character(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
         (c >= '0' && c <= '9') || c == '+' || c == '/';
}

} // namespace

std::string base64_encode(std::string_view bytes) {
  std::string text(4 * ((bytes.size() + 2) / 3), '\0');
  if (bytes.empty())
    return text;
  const int written =
      EVP_EncodeBlock(reinterpret_cast<unsigned char *>(text.data()),
                      reinterpret_cast<const unsigned char *>(bytes.data()),
                      static_cast<int>(bytes.size()));
  text.resize(static_cast<std::size_t>(written));
  return text;
}

tl::expected<std::string, std::string> base64_decode(std::string_view text) {
  // EVP_DecodeBlock skips white space, needs the padding and turns it into
  // zero bytes: check the text first, then pad it and drop those bytes
  std::size_t padding = 0;
  while (padding < 2 && padding < text.size() &&
         text[text.size() - 1 - padding] == '=')
    padding++;
  const auto data = text.substr(0, text.size() - padding);
  for (std::size_t i = 0; i < data.size(); i++)
    if (!is_base64_character(data[i]))
      return tl::unexpected("invalid base64 character at position " +
                            std::to_string(i));
  const std::size_t missing = (4 - data.size() % 4) % 4;
  if (missing == 3 || (padding != 0 && padding != missing))
    return tl::unexpected(std::string("invalid base64 length or padding"));
  if (data.empty())
    return std::string();
  std::string padded(data);
  padded.append(missing, '=');
  std::string bytes(padded.size() / 4 * 3, '\0');
  const int written =
      EVP_DecodeBlock(reinterpret_cast<unsigned char *>(bytes.data()),
                      reinterpret_cast<const unsigned char *>(padded.data()),
                      static_cast<int>(padded.size()));
  if (written < 0 || static_cast<std::size_t>(written) != bytes.size())
    return tl::unexpected(std::string("invalid base64"));
  bytes.resize(bytes.size() - missing);
  return bytes;
}

} // namespace dovewarden::util
