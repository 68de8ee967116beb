#include "webhook/AddressPolicy.hpp"

#include "util/Fatal.hpp"
#include "util/Strings.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <cstring>
#include <initializer_list>

namespace dovewarden::webhook {

namespace {

constexpr const char *k_loopback = "a loopback address";
constexpr const char *k_private = "a private address";
constexpr const char *k_link_local = "a link-local address";
constexpr const char *k_cgnat = "a shared (CGNAT) address";
constexpr const char *k_multicast = "a multicast address";
constexpr const char *k_unspecified = "an unspecified address";
constexpr const char *k_broadcast = "a broadcast address";
constexpr const char *k_reserved = "a reserved address";

struct Range {
  std::uint32_t network;
  unsigned prefix;
  const char *kind;
};

// first match wins
constexpr Range k_v4_ranges[] = {
    {0xffffffff, 32, k_broadcast},  // 255.255.255.255
    {0x00000000, 8, k_unspecified}, // 0.0.0.0/8, "this network"
    {0x7f000000, 8, k_loopback},    // 127.0.0.0/8
    {0x0a000000, 8, k_private},     // 10.0.0.0/8
    {0xac100000, 12, k_private},    // 172.16.0.0/12
    {0xc0a80000, 16, k_private},    // 192.168.0.0/16
    {0x64400000, 10, k_cgnat},      // 100.64.0.0/10
    {0xa9fe0000, 16, k_link_local}, // 169.254.0.0/16
    {0xe0000000, 4, k_multicast},   // 224.0.0.0/4
    {0xf0000000, 4, k_reserved},    // 240.0.0.0/4
    {0xc0000000, 24, k_reserved},   // 192.0.0.0/24, protocol assignments
    {0xc0000200, 24, k_reserved},   // 192.0.2.0/24, documentation
    {0xc0586300, 24, k_reserved},   // 192.88.99.0/24, 6to4 relays
    {0xc6120000, 15, k_reserved},   // 198.18.0.0/15, benchmarking
    {0xc6336400, 24, k_reserved},   // 198.51.100.0/24, documentation
    {0xcb007100, 24, k_reserved},   // 203.0.113.0/24, documentation
};

using Bytes = std::array<std::uint8_t, 16>;

using util::NetworkList;

bool in_v6(const Bytes &address, std::initializer_list<std::uint8_t> network,
           unsigned prefix) {
  Bytes bytes{};
  std::copy(network.begin(), network.end(), bytes.begin());
  return NetworkList::same_prefix(address.data(), bytes.data(), prefix);
}

std::uint32_t v4_at(const std::uint8_t *bytes) {
  return static_cast<std::uint32_t>(bytes[0]) << 24 |
         static_cast<std::uint32_t>(bytes[1]) << 16 |
         static_cast<std::uint32_t>(bytes[2]) << 8 | bytes[3];
}

const char *v4_kind(std::uint32_t address) {
  for (const auto &range : k_v4_ranges) {
    const std::uint32_t mask =
        range.prefix == 0 ? 0 : 0xffffffffu << (32 - range.prefix);
    if ((address & mask) == range.network)
      return range.kind;
  }
  return nullptr;
}

std::string text_of(int family, const std::uint8_t *bytes) {
  return NetworkList::text_of(family, bytes);
}

// Returns why the v4 address embedded at offset of a v6 address is refused.
std::optional<std::string> embedded_refusal(const Bytes &address,
                                            std::size_t offset) {
  const auto *v4 = address.data() + offset;
  const char *kind = v4_kind(v4_at(v4));
  if (!kind)
    return std::nullopt;
  return text_of(AF_INET6, address.data()) + " embeds " + text_of(AF_INET, v4) +
         ", " + kind;
}

std::optional<std::string> v6_refusal(const Bytes &address) {
  const auto refused = [&](const char *kind) {
    return text_of(AF_INET6, address.data()) + " is " + kind;
  };
  static constexpr Bytes k_loopback_bytes = {0, 0, 0, 0, 0, 0, 0, 0,
                                             0, 0, 0, 0, 0, 0, 0, 1};
  if (address == Bytes{})
    return refused(k_unspecified);
  if (address == k_loopback_bytes)
    return refused(k_loopback);
  if (in_v6(address, {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff}, 96))
    return embedded_refusal(address, 12); // v4-mapped
  if (in_v6(address, {}, 96))
    return refused("a reserved (IPv4-compatible) address");
  if (in_v6(address, {0x00, 0x64, 0xff, 0x9b}, 96))
    return embedded_refusal(address, 12); // NAT64
  if (in_v6(address, {0x20, 0x02}, 16))
    return embedded_refusal(address, 2); // 6to4
  if (in_v6(address, {0x20, 0x01, 0x00, 0x00}, 32))
    return refused("a Teredo address");
  if (in_v6(address, {0x20, 0x01, 0x00, 0x00}, 23)) // protocol assignments
    return refused(k_reserved);
  if (in_v6(address, {0x20, 0x01, 0x0d, 0xb8}, 32) || // documentation
      in_v6(address, {0x3f, 0xff, 0x00}, 20))
    return refused(k_reserved);
  if (in_v6(address, {0xfc}, 7))
    return refused(k_private);
  if (in_v6(address, {0xfe, 0x80}, 10))
    return refused(k_link_local);
  if (in_v6(address, {0xff}, 8))
    return refused(k_multicast);
  // outside global unicast: site-local, discard-only, local NAT64 ...
  if (!in_v6(address, {0x20}, 3))
    return refused(k_reserved);
  return std::nullopt;
}

curl_socket_t open_socket(void *data, curlsocktype purpose,
                          curl_sockaddr *address) {
  auto &state = *static_cast<GuardState *>(data);
  try {
    if (purpose != CURLSOCKTYPE_IPCXN) {
      state.refusal = "not a connection to the webhook's host";
      return CURL_SOCKET_BAD;
    }
    if (auto why = state.policy->refusal(address->addr, address->addrlen)) {
      state.refusal = std::move(*why);
      return CURL_SOCKET_BAD;
    }
  } catch (const std::exception &) {
    return CURL_SOCKET_BAD; // no exception may cross libcurl
  }
  return ::socket(address->family, address->socktype | SOCK_CLOEXEC,
                  address->protocol);
}

template <typename T>
void set(CURL *handle, CURLoption option, const char *name, T value) {
  const auto code = curl_easy_setopt(handle, option, value);
  if (code != CURLE_OK)
    throw util::Fatal(std::string("curl_easy_setopt(") + name +
                      ") failed: " + curl_easy_strerror(code));
}

} // namespace

tl::expected<AddressPolicy, std::string>
AddressPolicy::parse(std::string_view allow_list) {
  auto allowed = NetworkList::parse(allow_list);
  if (!allowed)
    return tl::unexpected(allowed.error());
  AddressPolicy policy;
  policy.m_allowed = std::move(*allowed);
  return policy;
}

std::optional<std::string> AddressPolicy::refusal(const sockaddr &address,
                                                  socklen_t length) const {
  if (address.sa_family == AF_INET && length >= sizeof(sockaddr_in)) {
    const auto &v4 = reinterpret_cast<const sockaddr_in &>(address);
    const auto *bytes = reinterpret_cast<const std::uint8_t *>(&v4.sin_addr);
    const char *kind = v4_kind(v4_at(bytes));
    if (!kind || m_allowed.contains(AF_INET, bytes))
      return std::nullopt;
    return text_of(AF_INET, bytes) + " is " + kind;
  }
  if (address.sa_family == AF_INET6 && length >= sizeof(sockaddr_in6)) {
    const auto &v6 = reinterpret_cast<const sockaddr_in6 &>(address);
    Bytes bytes;
    std::memcpy(bytes.data(), &v6.sin6_addr, bytes.size());
    if (m_allowed.contains(address, length))
      return std::nullopt;
    return v6_refusal(bytes);
  }
  return "address family " + std::to_string(address.sa_family) +
         " is not IPv4 or IPv6";
}

std::optional<std::string>
AddressPolicy::literal_refusal(std::string_view host) const {
  if (host.size() > 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  const std::string address(host);
  sockaddr_in v4{};
  v4.sin_family = AF_INET;
  if (inet_pton(AF_INET, address.c_str(), &v4.sin_addr) == 1)
    return refusal(reinterpret_cast<const sockaddr &>(v4), sizeof(v4));
  sockaddr_in6 v6{};
  v6.sin6_family = AF_INET6;
  if (inet_pton(AF_INET6, address.c_str(), &v6.sin6_addr) == 1)
    return refusal(reinterpret_cast<const sockaddr &>(v6), sizeof(v6));
  return std::nullopt;
}

std::string AddressPolicy::to_string() const { return m_allowed.to_string(); }

void guard(CURL *handle, const AddressPolicy &policy, GuardState &state) {
  state.policy = &policy;
  state.refusal.clear();
  curl_opensocket_callback callback = open_socket;
  set(handle, CURLOPT_OPENSOCKETFUNCTION, "CURLOPT_OPENSOCKETFUNCTION",
      callback);
  set(handle, CURLOPT_OPENSOCKETDATA, "CURLOPT_OPENSOCKETDATA",
      static_cast<void *>(&state));
  set(handle, CURLOPT_PROTOCOLS_STR, "CURLOPT_PROTOCOLS_STR", "http,https");
  set(handle, CURLOPT_REDIR_PROTOCOLS_STR, "CURLOPT_REDIR_PROTOCOLS_STR",
      "http,https");
  set(handle, CURLOPT_FOLLOWLOCATION, "CURLOPT_FOLLOWLOCATION", 0L);
  // "" rather than the environment's http_proxy: a proxy would dial the
  // target itself, out of reach of the check
  set(handle, CURLOPT_PROXY, "CURLOPT_PROXY", "");
}

} // namespace dovewarden::webhook
