#pragma once

#include "webhook/Endpoint.hpp"

#include <tl/expected.hpp>

#include <string>
#include <string_view>

namespace dovewarden::webhook {

// Returns the endpoint as the webhook stores keep it: one JSON object of
// every field but failing_since, which finish() changes on its own. Text
// that is not UTF-8 is kept with replacement characters.
std::string encode_endpoint(const Endpoint &endpoint);
// Returns the endpoint of encode_endpoint()'s text (failing_since left at
// the epoch; a field missing takes its default), or an error text if it is
// not such an object.
tl::expected<Endpoint, std::string> decode_endpoint(std::string_view text);

} // namespace dovewarden::webhook
