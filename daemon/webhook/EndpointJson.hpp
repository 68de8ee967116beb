#pragma once

#include "webhook/Endpoint.hpp"

#include <nlohmann/json.hpp>
#include <tl/expected.hpp>

#include <chrono>
#include <optional>
#include <string>

namespace dovewarden::webhook {

class AddressPolicy;

// Returns endpoint as the admin API shows it; its secrets (the current one
// also as "secret") only if with_secrets.
nlohmann::json endpoint_json(const Endpoint &endpoint, bool with_secrets);

// What a POST or PATCH body asks for beyond the endpoint's own fields.
struct EndpointExtras {
  std::optional<std::string> secret; // to sign with from now on
  std::optional<bool> enabled;
  bool rotate = false; // a new secret is to be made (PATCH only)
  // how long the secret replaced still signs (PATCH only)
  std::optional<std::chrono::milliseconds> grace;
};

// Applies the members of a POST body, or with patch a PATCH body (which may
// also rotate the secret), to endpoint; policy checks the URL
// (check_endpoint_url()). Returns the extras, or why the first member refused
// is ("timeout: must be from 1ms to 5m"), and then endpoint may be changed in
// part.
tl::expected<EndpointExtras, std::string>
apply_endpoint_json(const nlohmann::json &body, Endpoint &endpoint,
                    const AddressPolicy &policy, bool patch);

} // namespace dovewarden::webhook
