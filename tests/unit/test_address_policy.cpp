// The SSRF guard: the classification of addresses, the allow-list, and the
// dial-time check on real libcurl transfers to a real local server.
#include "FreePort.hpp"
#include "HttpServer.hpp"
#include "webhook/AddressPolicy.hpp"

#include <boost/test/unit_test.hpp>
#include <httplib.h>

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <vector>

using dovewarden::webhook::AddressPolicy;
using dovewarden::webhook::GuardState;

namespace {

// Returns why policy refuses the address text spells, "" if it allows it.
std::string judge(const AddressPolicy &policy, const std::string &text) {
  sockaddr_storage storage{};
  socklen_t length = 0;
  if (text.find(':') == std::string::npos) {
    auto &v4 = reinterpret_cast<sockaddr_in &>(storage);
    v4.sin_family = AF_INET;
    v4.sin_port = htons(80);
    BOOST_REQUIRE_MESSAGE(inet_pton(AF_INET, text.c_str(), &v4.sin_addr) == 1,
                          text);
    length = sizeof(v4);
  } else {
    auto &v6 = reinterpret_cast<sockaddr_in6 &>(storage);
    v6.sin6_family = AF_INET6;
    v6.sin6_port = htons(80);
    BOOST_REQUIRE_MESSAGE(inet_pton(AF_INET6, text.c_str(), &v6.sin6_addr) == 1,
                          text);
    length = sizeof(v6);
  }
  const auto refusal =
      policy.refusal(reinterpret_cast<const sockaddr &>(storage), length);
  return refusal ? *refusal : "";
}

AddressPolicy allowing(const char *allow_list) {
  auto policy = AddressPolicy::parse(allow_list);
  BOOST_REQUIRE_MESSAGE(policy.has_value(), allow_list);
  return *policy;
}

struct Case {
  const char *address;
  const char *refusal; // "" if allowed
};

const Case k_v4_cases[] = {
    {"8.8.8.8", ""},
    {"93.184.216.34", ""},
    {"127.0.0.1", "127.0.0.1 is a loopback address"},
    {"127.255.255.254", "127.255.255.254 is a loopback address"},
    {"10.1.2.3", "10.1.2.3 is a private address"},
    {"10.255.255.255", "10.255.255.255 is a private address"},
    {"11.0.0.1", ""},
    {"172.15.255.255", ""},
    {"172.16.0.1", "172.16.0.1 is a private address"},
    {"172.31.255.255", "172.31.255.255 is a private address"},
    {"172.32.0.1", ""},
    {"192.168.1.1", "192.168.1.1 is a private address"},
    {"192.169.0.1", ""},
    {"100.63.255.255", ""},
    {"100.64.0.1", "100.64.0.1 is a shared (CGNAT) address"},
    {"100.127.255.255", "100.127.255.255 is a shared (CGNAT) address"},
    {"100.128.0.1", ""},
    {"169.254.169.254", "169.254.169.254 is a link-local address"},
    {"224.0.0.1", "224.0.0.1 is a multicast address"},
    {"239.255.255.250", "239.255.255.250 is a multicast address"},
    {"0.0.0.0", "0.0.0.0 is an unspecified address"},
    {"0.1.2.3", "0.1.2.3 is an unspecified address"},
    {"255.255.255.255", "255.255.255.255 is a broadcast address"},
    {"240.0.0.1", "240.0.0.1 is a reserved address"},
    {"192.0.0.8", "192.0.0.8 is a reserved address"},
    {"192.0.1.1", ""},
    {"192.0.2.1", "192.0.2.1 is a reserved address"},
    {"192.88.99.1", "192.88.99.1 is a reserved address"},
    {"198.17.255.255", ""},
    {"198.18.0.1", "198.18.0.1 is a reserved address"},
    {"198.19.255.255", "198.19.255.255 is a reserved address"},
    {"198.20.0.1", ""},
    {"198.51.100.7", "198.51.100.7 is a reserved address"},
    {"203.0.113.9", "203.0.113.9 is a reserved address"},
};

const Case k_v6_cases[] = {
    {"2606:4700:4700::1111", ""},
    {"2001:4860:4860::8888", ""},
    {"::1", "::1 is a loopback address"},
    {"::", ":: is an unspecified address"},
    {"::ffff:8.8.8.8", ""},
    {"::ffff:10.1.2.3", "::ffff:10.1.2.3 embeds 10.1.2.3, a private address"},
    {"::ffff:127.0.0.1",
     "::ffff:127.0.0.1 embeds 127.0.0.1, a loopback address"},
    {"::ffff:169.254.169.254",
     "::ffff:169.254.169.254 embeds 169.254.169.254, a link-local address"},
    {"::10.1.2.3", "::10.1.2.3 is a reserved (IPv4-compatible) address"},
    {"::8.8.8.8", "::8.8.8.8 is a reserved (IPv4-compatible) address"},
    {"64:ff9b::808:808", ""},
    {"64:ff9b::10.1.2.3",
     "64:ff9b::a01:203 embeds 10.1.2.3, a private address"},
    {"64:ff9b::127.0.0.1",
     "64:ff9b::7f00:1 embeds 127.0.0.1, a loopback address"},
    {"64:ff9b:1::1", "64:ff9b:1::1 is a reserved address"},
    {"2002:808:808::1", ""},
    {"2002:a01:203::1", "2002:a01:203::1 embeds 10.1.2.3, a private address"},
    {"2002:a9fe:a9fe::", "2002:a9fe:a9fe:: embeds 169.254.169.254, a "
                         "link-local address"},
    {"2001:0:4136:e378:8000:63bf:3fff:fdd2",
     "2001:0:4136:e378:8000:63bf:3fff:fdd2 is a Teredo address"},
    {"2001:2::1", "2001:2::1 is a reserved address"},
    {"2001:db8::1", "2001:db8::1 is a reserved address"},
    {"3fff::1", "3fff::1 is a reserved address"},
    {"fc00::1", "fc00::1 is a private address"},
    {"fd12:3456::1", "fd12:3456::1 is a private address"},
    {"fe80::1", "fe80::1 is a link-local address"},
    {"febf::1", "febf::1 is a link-local address"},
    {"fec0::1", "fec0::1 is a reserved address"},
    {"ff02::1", "ff02::1 is a multicast address"},
    {"ff0e::1", "ff0e::1 is a multicast address"},
    {"100::1", "100::1 is a reserved address"},
    {"4000::1", "4000::1 is a reserved address"},
};

// A local HTTP server counting the requests it is sent.
class Receiver {
public:
  Receiver() {
    m_http.server().Get("/",
                        [this](const httplib::Request &, httplib::Response &r) {
                          m_hits++;
                          r.set_content("hello", "text/plain");
                        });
    m_http.server().Get("/redirect",
                        [this](const httplib::Request &, httplib::Response &r) {
                          m_redirects++;
                          r.set_redirect("/");
                        });
    m_http.start();
  }
  ~Receiver() { m_http.stop(); }
  Receiver(const Receiver &) = delete;
  Receiver &operator=(const Receiver &) = delete;

  std::string url(const std::string &path = "/") const {
    return m_http.url(path);
  }
  int port() const { return m_http.port(); }
  int hits() const { return m_hits; }
  int redirects() const { return m_redirects; }

private:
  dovewarden::test::HttpServer m_http;
  std::atomic<int> m_hits{0};
  std::atomic<int> m_redirects{0};
};

struct Transfer {
  CURLcode code = CURLE_OK;
  long status = 0;
  std::string refusal;
};

std::size_t discard(char *, std::size_t size, std::size_t count, void *) {
  return size * count;
}

using Curl = std::unique_ptr<CURL, decltype(&curl_easy_cleanup)>;
using Slist = std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)>;

// GETs url through a guarded handle, name resolution pinned to resolve.
Transfer get(const std::string &url, const AddressPolicy &policy,
             const std::vector<std::string> &resolve = {}) {
  Curl curl(curl_easy_init(), &curl_easy_cleanup);
  BOOST_REQUIRE(curl);
  Slist pinned(nullptr, &curl_slist_free_all);
  for (const auto &entry : resolve)
    pinned.reset(curl_slist_append(pinned.release(), entry.c_str()));
  GuardState state;
  dovewarden::webhook::guard(curl.get(), policy, state);
  curl_easy_setopt(curl.get(), CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl.get(), CURLOPT_RESOLVE, pinned.get());
  curl_easy_setopt(curl.get(), CURLOPT_WRITEFUNCTION, discard);
  curl_easy_setopt(curl.get(), CURLOPT_TIMEOUT_MS, 20000L);
  curl_easy_setopt(curl.get(), CURLOPT_NOSIGNAL, 1L);
  Transfer transfer;
  transfer.code = curl_easy_perform(curl.get());
  curl_easy_getinfo(curl.get(), CURLINFO_RESPONSE_CODE, &transfer.status);
  transfer.refusal = state.refusal;
  return transfer;
}

// Sets (or, given nullptr, unsets) an environment variable for the scope.
class ScopedEnv {
public:
  ScopedEnv(const char *name, const char *value) : m_name(name) {
    if (const char *old = std::getenv(name))
      m_old = old;
    if (value)
      ::setenv(name, value, 1);
    else
      ::unsetenv(name);
  }
  ~ScopedEnv() {
    if (m_old)
      ::setenv(m_name, m_old->c_str(), 1);
    else
      ::unsetenv(m_name);
  }
  ScopedEnv(const ScopedEnv &) = delete;
  ScopedEnv &operator=(const ScopedEnv &) = delete;

private:
  const char *m_name;
  std::optional<std::string> m_old;
};

} // namespace

BOOST_AUTO_TEST_SUITE(address_policy)

BOOST_AUTO_TEST_CASE(v4_classification) {
  const AddressPolicy policy;
  for (const auto &[address, refusal] : k_v4_cases)
    BOOST_TEST(judge(policy, address) == refusal, address);
}

BOOST_AUTO_TEST_CASE(v6_classification_with_embedded_v4) {
  const AddressPolicy policy;
  for (const auto &[address, refusal] : k_v6_cases)
    BOOST_TEST(judge(policy, address) == refusal, address);
}

BOOST_AUTO_TEST_CASE(other_families_are_refused) {
  sockaddr_un local{};
  local.sun_family = AF_UNIX;
  std::strcpy(local.sun_path, "/run/socket");
  const auto refusal = AddressPolicy().refusal(
      reinterpret_cast<const sockaddr &>(local), sizeof(local));
  BOOST_TEST(refusal.value_or("") == "address family 1 is not IPv4 or IPv6");
}

BOOST_AUTO_TEST_CASE(short_addresses_are_refused) {
  sockaddr_in6 v6{};
  v6.sin6_family = AF_INET6;
  v6.sin6_addr.s6_addr[0] = 0x26; // public, but only half of it is given
  BOOST_TEST(
      AddressPolicy()
          .refusal(reinterpret_cast<const sockaddr &>(v6), sizeof(sockaddr_in))
          .has_value());
}

BOOST_AUTO_TEST_CASE(allow_list_parses_cidrs_and_bare_addresses) {
  const auto policy = allowing("127.0.0.1/32,10.0.0.0/8,::1");
  BOOST_TEST(policy.to_string() == "127.0.0.1/32,10.0.0.0/8,::1/128");
  BOOST_TEST(
      allowing(" 192.168.0.0/16 , fd00::/8 ,, 169.254.169.254 ").to_string() ==
      "192.168.0.0/16,fd00::/8,169.254.169.254/32");
  BOOST_TEST(allowing("").to_string() == "");
  BOOST_TEST(allowing("0.0.0.0/0").to_string() == "0.0.0.0/0");
}

BOOST_AUTO_TEST_CASE(allow_listed_networks_are_allowed_and_only_they) {
  const auto policy = allowing("127.0.0.1/32,10.0.0.0/8,::1,fd00::/8");
  BOOST_TEST(judge(policy, "127.0.0.1") == "");
  BOOST_TEST(judge(policy, "127.0.0.2") == "127.0.0.2 is a loopback address");
  BOOST_TEST(judge(policy, "10.200.1.1") == "");
  BOOST_TEST(judge(policy, "192.168.1.1") ==
             "192.168.1.1 is a private address");
  BOOST_TEST(judge(policy, "::1") == "");
  BOOST_TEST(judge(policy, "fd12::1") == "");
  BOOST_TEST(judge(policy, "fc00::1") == "fc00::1 is a private address");
  // a v4 network covers the v4-mapped form, which dials the same host
  BOOST_TEST(judge(policy, "::ffff:127.0.0.1") == "");
  BOOST_TEST(judge(policy, "::ffff:10.1.2.3") == "");
  BOOST_TEST(judge(policy, "::ffff:192.168.1.1") ==
             "::ffff:192.168.1.1 embeds 192.168.1.1, a private address");
  // public addresses need no allow-list entry
  BOOST_TEST(judge(policy, "8.8.8.8") == "");
  // a v4 network does not cover v6
  BOOST_TEST(judge(allowing("0.0.0.0/0"), "::1") ==
             "::1 is a loopback address");
  BOOST_TEST(judge(allowing("0.0.0.0/0"), "255.255.255.255") == "");
}

BOOST_AUTO_TEST_CASE(literal_hosts_are_judged_and_names_left_for_later) {
  const auto policy = allowing("10.0.0.0/8");
  BOOST_TEST(policy.literal_refusal("192.168.1.1").value_or("") ==
             "192.168.1.1 is a private address");
  BOOST_TEST(policy.literal_refusal("[fe80::1]").value_or("") ==
             "fe80::1 is a link-local address");
  BOOST_TEST(!policy.literal_refusal("10.1.2.3"));
  BOOST_TEST(!policy.literal_refusal("8.8.8.8"));
  BOOST_TEST(!policy.literal_refusal("localhost"));
  BOOST_TEST(!policy.literal_refusal("[]"));
}

BOOST_AUTO_TEST_CASE(allow_list_errors_name_the_bad_item) {
  const std::pair<const char *, const char *> cases[] = {
      {"127.0.0.1,foo", R"("foo": not an IPv4 or IPv6 address or network)"},
      {"10.0.0.0/33",
       R"("10.0.0.0/33": the prefix length must be a number from 0 to 32)"},
      {"::1/129",
       R"("::1/129": the prefix length must be a number from 0 to 128)"},
      {"10.0.0.0/",
       R"("10.0.0.0/": the prefix length must be a number from 0 to 32)"},
      {"10.0.0.0/8/9",
       R"("10.0.0.0/8/9": the prefix length must be a number from 0 to 32)"},
      {"10.0.0.0/x",
       R"("10.0.0.0/x": the prefix length must be a number from 0 to 32)"},
      {"10.1.2.3/8", R"("10.1.2.3/8": bits are set after the prefix; )"
                     R"(did you mean 10.0.0.0/8?)"},
      {"fd00::1/8", R"("fd00::1/8": bits are set after the prefix; )"
                    R"(did you mean fd00::/8?)"},
      {"fe80::1%eth0",
       R"("fe80::1%eth0": not an IPv4 or IPv6 address or network)"},
      {"[::1]", R"("[::1]": not an IPv4 or IPv6 address or network)"},
      {"10.0.0", R"("10.0.0": not an IPv4 or IPv6 address or network)"},
      {"localhost", R"("localhost": not an IPv4 or IPv6 address or network)"},
  };
  for (const auto &[text, error] : cases) {
    const auto policy = AddressPolicy::parse(text);
    BOOST_TEST_REQUIRE(!policy.has_value(), text);
    BOOST_TEST(policy.error() == error);
  }
}

BOOST_AUTO_TEST_CASE(guard_refuses_loopback_before_a_request_is_sent) {
  Receiver receiver;
  const auto transfer = get(receiver.url(), AddressPolicy());
  BOOST_TEST(transfer.code == CURLE_COULDNT_CONNECT);
  BOOST_TEST(transfer.refusal == "127.0.0.1 is a loopback address");
  BOOST_TEST(receiver.hits() == 0);
}

BOOST_AUTO_TEST_CASE(guard_lets_an_allow_listed_address_through) {
  Receiver receiver;
  const auto transfer = get(receiver.url(), allowing("127.0.0.1/32"));
  BOOST_TEST(transfer.code == CURLE_OK);
  BOOST_TEST(transfer.status == 200);
  BOOST_TEST(transfer.refusal == "");
  BOOST_TEST(receiver.hits() == 1);
}

BOOST_AUTO_TEST_CASE(guard_checks_the_address_a_name_resolves_to) {
  // no network is needed: the socket is never opened
  const auto transfer = get("http://hook.example/", AddressPolicy(),
                            {"hook.example:80:10.1.2.3"});
  BOOST_TEST(transfer.code == CURLE_COULDNT_CONNECT);
  BOOST_TEST(transfer.refusal == "10.1.2.3 is a private address");
}

BOOST_AUTO_TEST_CASE(guard_checks_a_name_resolving_to_v6) {
  const auto transfer = get("http://hook.example/", AddressPolicy(),
                            {"hook.example:80:[fd00::7]"});
  BOOST_TEST(transfer.code == CURLE_COULDNT_CONNECT);
  BOOST_TEST(transfer.refusal == "fd00::7 is a private address");
}

BOOST_AUTO_TEST_CASE(guard_judges_the_name_by_its_address_only) {
  // a name that resolves to an allow-listed address may be dialled
  Receiver receiver;
  const auto port = std::to_string(receiver.port());
  const auto transfer =
      get("http://hook.example:" + port + "/", allowing("127.0.0.1"),
          {"hook.example:" + port + ":127.0.0.1"});
  BOOST_TEST(transfer.code == CURLE_OK);
  BOOST_TEST(receiver.hits() == 1);
}

BOOST_AUTO_TEST_CASE(guard_follows_no_redirect) {
  Receiver receiver;
  const auto transfer =
      get(receiver.url("/redirect"), allowing("127.0.0.1/32"));
  BOOST_TEST(transfer.code == CURLE_OK);
  BOOST_TEST(transfer.status == 302);
  BOOST_TEST(receiver.redirects() == 1);
  BOOST_TEST(receiver.hits() == 0);
}

BOOST_AUTO_TEST_CASE(guard_allows_only_http_and_https) {
  const auto policy = allowing("127.0.0.1/32");
  for (const char *url :
       {"file:///etc/hostname", "ftp://127.0.0.1/", "gopher://127.0.0.1/",
        "dict://127.0.0.1/", "telnet://127.0.0.1/"}) {
    const auto transfer = get(url, policy);
    BOOST_TEST(transfer.code == CURLE_UNSUPPORTED_PROTOCOL, url);
  }
}

BOOST_AUTO_TEST_CASE(guard_ignores_a_proxy_from_the_environment) {
  // the proxy is a port nothing listens on: through it, the GET would fail
  Receiver receiver;
  const auto proxy =
      "http://127.0.0.1:" + std::to_string(dovewarden::test::free_port());
  ScopedEnv http_proxy("http_proxy", proxy.c_str());
  ScopedEnv all_proxy("ALL_PROXY", proxy.c_str());
  ScopedEnv no_proxy("no_proxy", nullptr);
  ScopedEnv no_proxy_upper("NO_PROXY", nullptr);
  const auto transfer = get(receiver.url(), allowing("127.0.0.1/32"));
  BOOST_TEST(transfer.code == CURLE_OK);
  BOOST_TEST(receiver.hits() == 1);
}

BOOST_AUTO_TEST_SUITE_END()
