#include "util/BearerToken.hpp"

#include "util/Fatal.hpp"
#include "util/PrivateFiles.hpp"
#include "util/Strings.hpp"
#include "util/System.hpp"

#include <openssl/crypto.h>
#include <strings.h>

#include <utility>

namespace dovewarden::util {

namespace {

constexpr std::string_view k_scheme = "Bearer";

} // namespace

BearerToken::BearerToken(std::string_view token) : m_digest(sha256(token)) {}

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
  const auto presented_digest = sha256(presented);
  return !presented.empty() &&
         CRYPTO_memcmp(presented_digest.data(), m_digest.data(),
                       m_digest.size()) == 0;
}

} // namespace dovewarden::util
