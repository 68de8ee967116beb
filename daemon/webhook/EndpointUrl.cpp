#include "webhook/EndpointUrl.hpp"

#include "util/Curl.hpp"
#include "util/Utf8.hpp"
#include "webhook/AddressPolicy.hpp"

namespace dovewarden::webhook {

namespace {

using Error = tl::unexpected<std::string>;

} // namespace

tl::expected<std::string, std::string>
check_endpoint_url(const std::string &text, const AddressPolicy &policy) {
  if (text.size() > k_max_url)
    return Error("url: longer than " + std::to_string(k_max_url) +
                 " characters");
  const auto url = util::parse_url(text, CURLU_NON_SUPPORT_SCHEME);
  if (!url && url.error() == CURLUE_OUT_OF_MEMORY)
    return Error("url: cannot parse now");
  if (!url)
    return Error("url: " + std::string(curl_url_strerror(url.error())));
  const auto scheme = util::url_part(url->get(), CURLUPART_SCHEME);
  if (scheme != "http" && scheme != "https")
    return Error("url: expected an http or https URL");
  const auto host = util::url_part(url->get(), CURLUPART_HOST);
  if (host.empty())
    return Error("url: no host");
  // libcurl decodes a host's %XX and refuses only the control characters
  // below 0x20: the URL it returns would carry the other bytes as they are
  if (!util::is_valid_utf8(host) || host.find('\x7f') != std::string::npos)
    return Error("url: the host, decoded, is not UTF-8 text");
  if (const auto refusal = policy.literal_refusal(host))
    return Error("url: " + *refusal +
                 " (DOVEWARDEN_WEBHOOK_ALLOW_NETS allows it)");
  return util::url_part(url->get(), CURLUPART_URL);
}

std::string url_host(const std::string &text) {
  const auto url = util::parse_url(text);
  if (!url)
    return "?";
  return util::url_part(url->get(), CURLUPART_HOST);
}

} // namespace dovewarden::webhook
