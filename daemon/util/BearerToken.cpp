#include "util/BearerToken.hpp"

#include "util/Fatal.hpp"
#include "util/Fd.hpp"
#include "util/Strings.hpp"
#include "util/System.hpp"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <strings.h>
#include <unistd.h>

#include <cerrno>

namespace dovewarden::util {

namespace {

constexpr std::string_view k_scheme = "Bearer";
constexpr std::size_t k_max_file_size = 4096;

} // namespace

BearerToken::BearerToken(std::string_view token) : m_digest(digest(token)) {}

std::optional<std::string_view>
BearerToken::from_header(std::string_view authorization) {
  if (authorization.size() <= k_scheme.size() ||
      ::strncasecmp(authorization.data(), k_scheme.data(), k_scheme.size()) !=
          0 ||
      authorization[k_scheme.size()] != ' ')
    return std::nullopt;
  return trim(authorization.substr(k_scheme.size() + 1));
}

tl::expected<std::string, std::string>
BearerToken::read_file(const std::string &path) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd)
    return tl::unexpected("cannot read " + path + ": " + error_text(errno));
  std::string text(k_max_file_size, '\0');
  std::size_t size = 0;
  while (size < text.size()) {
    const auto got = ::read(fd.get(), &text[size], text.size() - size);
    if (got < 0 && errno == EINTR)
      continue;
    if (got < 0)
      return tl::unexpected("cannot read " + path + ": " + error_text(errno));
    if (got == 0)
      break;
    size += static_cast<std::size_t>(got);
  }
  text.resize(size);
  std::string_view line(text);
  line = line.substr(0, line.find('\n'));
  if (!line.empty() && line.back() == '\r')
    line.remove_suffix(1);
  std::string token(trim(line));
  OPENSSL_cleanse(text.data(), text.size());
  if (token.empty())
    return tl::unexpected(path + ": empty token");
  return token;
}

bool BearerToken::verify(std::string_view presented) const {
  // comparing digests of equal length hides the token's length too
  const auto presented_digest = digest(presented);
  return !presented.empty() &&
         CRYPTO_memcmp(presented_digest.data(), m_digest.data(),
                       m_digest.size()) == 0;
}

BearerToken::Digest BearerToken::digest(std::string_view text) {
  Digest result{};
  unsigned int size = 0;
  if (EVP_Digest(text.data(), text.size(), result.data(), &size, EVP_sha256(),
                 nullptr) != 1 ||
      size != result.size())
    throw Fatal("EVP_Digest(sha256) failed");
  return result;
}

} // namespace dovewarden::util
