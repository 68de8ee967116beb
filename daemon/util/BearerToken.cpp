#include "util/BearerToken.hpp"

#include "util/Fatal.hpp"
#include "util/PrivateFiles.hpp"
#include "util/Strings.hpp"
#include "util/System.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <strings.h>

#include <utility>

namespace dovewarden::util {

namespace {

constexpr std::string_view k_scheme = "Bearer";

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
  auto token = read_secret_line(path, false);
  if (!token)
    return tl::unexpected("cannot read " + path + ": " +
                          error_text(token.error().errnum));
  if (token->empty())
    return tl::unexpected(path + ": empty token");
  return std::move(*token);
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
