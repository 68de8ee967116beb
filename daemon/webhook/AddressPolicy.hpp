#pragma once

#include "util/NetworkList.hpp"

#include <tl/expected.hpp>

#include <curl/curl.h>
#include <sys/socket.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace dovewarden::webhook {

// Which addresses a webhook may be delivered to (the SSRF guard): none that
// is loopback, private, link-local, CGNAT, multicast, unspecified, broadcast
// or reserved, v4 or v6 (v4 inside v6 is judged as v4), unless a network of
// the allow-list contains it.
class AddressPolicy {
public:
  // An empty allow-list: every such address is refused.
  AddressPolicy() = default;

  // Parses an allow-list: CIDRs or bare addresses, v4 or v6, separated by
  // commas ("127.0.0.1/32,10.0.0.0/8,::1"). Returns the policy, or an error
  // text naming the first bad item.
  static tl::expected<AddressPolicy, std::string>
  parse(std::string_view allow_list);

  // Returns why address (length bytes long) may not be dialled ("10.1.2.3 is
  // a private address"), or nothing if it may. Refuses families other than
  // AF_INET and AF_INET6.
  std::optional<std::string> refusal(const sockaddr &address,
                                     socklen_t length) const;
  // Returns why host may not be dialled if it is a literal address
  // ("10.1.2.3", "[::1]"), or nothing if it may or is a name (a name is
  // checked when dialled, by guard()).
  std::optional<std::string> literal_refusal(std::string_view host) const;

  // Returns the allow-list in the form parse() reads, "" if empty.
  std::string to_string() const;

private:
  util::NetworkList m_allowed;
};

// What the guard of one transfer saw. Must outlive the transfer.
struct GuardState {
  const AddressPolicy *policy = nullptr;
  std::string refusal; // why an address was refused, "" if none was
};

// Makes handle check each address it dials (after name resolution) against
// policy, refusing with CURLE_COULDNT_CONNECT and the reason in
// state.refusal; allows only http and https, follows no redirect and uses no
// proxy, even one from the environment. Clears state.refusal. Throws
// util::Fatal if libcurl refuses an option.
void guard(CURL *handle, const AddressPolicy &policy, GuardState &state);

} // namespace dovewarden::webhook
