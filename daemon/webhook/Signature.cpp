#include "webhook/Signature.hpp"

#include "util/Base64.hpp"
#include "util/Fatal.hpp"
#include "util/Random.hpp"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <memory>
#include <stdexcept>

namespace dovewarden::webhook {

namespace {

constexpr std::string_view k_prefix = "whsec_";
constexpr std::size_t k_generated_key_size = 32;
constexpr std::size_t k_min_key_size = 24;
constexpr std::size_t k_max_key_size = 64;

using Mac = std::unique_ptr<EVP_MAC, decltype(&EVP_MAC_free)>;
using MacContext = std::unique_ptr<EVP_MAC_CTX, decltype(&EVP_MAC_CTX_free)>;

// the HMAC implementation, fetched once: fetching looks it up by name
EVP_MAC *hmac() {
  static const Mac mac(EVP_MAC_fetch(nullptr, "HMAC", nullptr), &EVP_MAC_free);
  if (!mac)
    throw util::Fatal("EVP_MAC_fetch(HMAC) failed");
  return mac.get();
}

tl::expected<std::string, std::string> key_of(std::string_view secret) {
  if (secret.substr(0, k_prefix.size()) != k_prefix)
    return tl::unexpected(std::string("a secret must start with whsec_"));
  auto key = util::base64_decode(secret.substr(k_prefix.size()));
  if (!key)
    return tl::unexpected("a secret must be whsec_ and base64: " + key.error());
  if (key->size() < k_min_key_size || key->size() > k_max_key_size) {
    const auto size = key->size();
    OPENSSL_cleanse(key->data(), key->size());
    return tl::unexpected(
        "a secret's key must be " + std::to_string(k_min_key_size) + " to " +
        std::to_string(k_max_key_size) + " bytes, not " + std::to_string(size));
  }
  return key;
}

bool is_current(const Secret &secret, TimePoint now) {
  return secret.expires == TimePoint{} || secret.expires > now;
}

} // namespace

std::string generate_secret() {
  auto key = util::random_bytes(k_generated_key_size);
  auto secret = std::string(k_prefix) + util::base64_encode(key);
  OPENSSL_cleanse(key.data(), key.size());
  return secret;
}

tl::expected<void, std::string> check_secret(std::string_view secret) {
  auto key = key_of(secret);
  if (!key)
    return tl::unexpected(key.error());
  OPENSSL_cleanse(key->data(), key->size());
  return {};
}

std::string sign(std::string_view secret, std::string_view id,
                 std::string_view timestamp, std::string_view body) {
  auto key = key_of(secret);
  if (!key)
    throw std::invalid_argument("webhook::sign: " + key.error());
  MacContext context(EVP_MAC_CTX_new(hmac()), &EVP_MAC_CTX_free);
  char digest_name[] = "SHA256";
  const OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest_name, 0),
      OSSL_PARAM_construct_end()};
  const auto update = [&](std::string_view part) {
    return EVP_MAC_update(context.get(),
                          reinterpret_cast<const unsigned char *>(part.data()),
                          part.size()) == 1;
  };
  unsigned char mac[EVP_MAX_MD_SIZE];
  std::size_t mac_size = 0;
  // the signed content: <id>.<timestamp>.<body>
  const bool signed_ =
      context &&
      EVP_MAC_init(context.get(),
                   reinterpret_cast<const unsigned char *>(key->data()),
                   key->size(), params) == 1 &&
      update(id) && update(".") && update(timestamp) && update(".") &&
      update(body) &&
      EVP_MAC_final(context.get(), mac, &mac_size, sizeof(mac)) == 1;
  OPENSSL_cleanse(key->data(), key->size());
  if (!signed_)
    throw util::Fatal("HMAC-SHA256 failed: cannot sign a webhook message");
  return "v1," + util::base64_encode(std::string_view(
                     reinterpret_cast<const char *>(mac), mac_size));
}

std::string signature_header(const std::vector<Secret> &secrets, TimePoint now,
                             std::string_view id, std::string_view timestamp,
                             std::string_view body) {
  std::string header;
  for (const auto &secret : secrets) {
    if (!is_current(secret, now))
      continue;
    if (!header.empty())
      header += ' ';
    header += sign(secret.value, id, timestamp, body);
  }
  return header;
}

} // namespace dovewarden::webhook
