#pragma once

#include <chrono>
#include <optional>
#include <string>

namespace dovewarden::webhook {

class AddressPolicy;

// What resolving an endpoint's host name found, when it is added or its URL
// changed: a name is otherwise judged only when a delivery dials it.
struct HostCheck {
  // every address of the name is one policy refuses: "url: localhost:
  // 127.0.0.1 is a loopback address (DOVEWARDEN_WEBHOOK_ALLOW_NETS allows
  // it)", as a literal address is refused
  std::optional<std::string> refusal;
  // the name does not resolve now: a remark, not a refusal, since DNS may
  // be down or the name not yet published
  std::optional<std::string> warning;
};

// Resolves the host of url (an http or https URL that check_endpoint_url
// accepted) with libcurl's resolver, as a delivery does, within timeout, and
// judges its addresses with policy. Connects to none of them. A literal
// address yields nothing: check_endpoint_url has judged it.
HostCheck check_host(const std::string &url, const AddressPolicy &policy,
                     std::chrono::milliseconds timeout);

} // namespace dovewarden::webhook
