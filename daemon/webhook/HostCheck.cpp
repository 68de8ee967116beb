#include "webhook/HostCheck.hpp"

#include "util/Curl.hpp"
#include "util/Duration.hpp"
#include "webhook/AddressPolicy.hpp"
#include "webhook/EndpointUrl.hpp"

#include <arpa/inet.h>

namespace dovewarden::webhook {

namespace {

// What the addresses of the name were.
struct Seen {
  const AddressPolicy *policy = nullptr;
  bool allowed = false; // one address policy allows
  std::string refusal;  // why the first refused one was
};

// Judges each address libcurl would dial, and dials none.
curl_socket_t judge(void *data, curlsocktype, curl_sockaddr *address) {
  auto &seen = *static_cast<Seen *>(data);
  try {
    const auto why = seen.policy->refusal(address->addr, address->addrlen);
    if (!why)
      seen.allowed = true;
    else if (seen.refusal.empty())
      seen.refusal = *why;
  } catch (const std::exception &) { // NOLINT(bugprone-empty-catch): see below
    // no exception may cross libcurl; the address counts as unseen
  }
  return CURL_SOCKET_BAD;
}

bool is_literal(std::string host) {
  if (host.size() > 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  unsigned char bytes[sizeof(in6_addr)];
  return inet_pton(AF_INET, host.c_str(), bytes) == 1 ||
         inet_pton(AF_INET6, host.c_str(), bytes) == 1;
}

} // namespace

HostCheck check_host(const std::string &url, const AddressPolicy &policy,
                     std::chrono::milliseconds timeout) {
  const auto host = url_host(url);
  if (is_literal(host))
    return {};
  util::init_curl();
  util::Curl handle(curl_easy_init(), curl_easy_cleanup);
  if (!handle)
    return {std::nullopt, "url: cannot resolve " + host + " now"};
  Seen seen;
  seen.policy = &policy;
  char error[CURL_ERROR_SIZE] = "";
  CURL *curl = handle.get();
  curl_opensocket_callback callback = judge;
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_CONNECT_ONLY, 1L);
  curl_easy_setopt(curl, CURLOPT_PROXY, "");
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(timeout.count()));
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error);
  curl_easy_setopt(curl, CURLOPT_OPENSOCKETFUNCTION, callback);
  curl_easy_setopt(curl, CURLOPT_OPENSOCKETDATA, static_cast<void *>(&seen));
  const auto code = curl_easy_perform(curl);
  if (seen.allowed)
    return {};
  if (!seen.refusal.empty())
    return {"url: " + host + ": " + seen.refusal +
                " (DOVEWARDEN_WEBHOOK_ALLOW_NETS allows it)",
            std::nullopt};
  if (code == CURLE_OPERATION_TIMEDOUT)
    return {std::nullopt, "url: " + host + " did not resolve within " +
                              util::format_duration(timeout) +
                              "; deliveries will try it again"};
  return {std::nullopt, "url: " + host + " does not resolve now (" +
                            (error[0] != '\0' ? std::string(error)
                                              : curl_easy_strerror(code)) +
                            "); deliveries will try it again"};
}

} // namespace dovewarden::webhook
