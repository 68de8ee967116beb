#pragma once

#include <tl/expected.hpp>

#include <cstddef>
#include <string>

namespace dovewarden::webhook {

class AddressPolicy;

// The longest URL an endpoint may have.
constexpr std::size_t k_max_url = 1024;

// Checks an endpoint's URL: http or https, with a host that policy does not
// refuse if it is a literal address (a name is checked when dialled).
// Returns the URL as libcurl will use it (numeric hosts in their usual form,
// so that the check sees what is dialled), or why it is refused, starting
// "url: ".
tl::expected<std::string, std::string>
check_endpoint_url(const std::string &text, const AddressPolicy &policy);

// Returns the URL's host for log lines (URLs may carry credentials), or "?"
// if text is not a URL.
std::string url_host(const std::string &text);

} // namespace dovewarden::webhook
