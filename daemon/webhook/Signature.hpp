#pragma once

#include "webhook/Endpoint.hpp"

#include <tl/expected.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace dovewarden::webhook {

// Standard Webhooks signing (https://www.standardwebhooks.com/): the
// signature of a message is base64(HMAC-SHA256(key, "id.timestamp.body")),
// where key is the base64-decoded part of "whsec_<base64>".

// Returns a new secret: "whsec_" + base64 of 32 random bytes.
std::string generate_secret();
// Returns an error text if secret is not "whsec_" + base64 of 24 to 64 bytes.
tl::expected<void, std::string> check_secret(std::string_view secret);
// Returns "v1,<base64 signature>" of the message under secret, which must
// have passed check_secret.
std::string sign(std::string_view secret, std::string_view id,
                 std::string_view timestamp, std::string_view body);
// Returns the webhook-signature header: one "v1,…" per secret not expired at
// now, separated by spaces, the current secret first.
std::string signature_header(const std::vector<Secret> &secrets, TimePoint now,
                             std::string_view id, std::string_view timestamp,
                             std::string_view body);

} // namespace dovewarden::webhook
