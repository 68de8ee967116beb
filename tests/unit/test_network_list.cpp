#include "util/NetworkList.hpp"

#include <boost/test/unit_test.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <string>

using dovewarden::util::NetworkList;

namespace {

bool holds(const NetworkList &list, const std::string &address) {
  sockaddr_in v4{};
  v4.sin_family = AF_INET;
  if (inet_pton(AF_INET, address.c_str(), &v4.sin_addr) == 1)
    return list.contains(reinterpret_cast<const sockaddr &>(v4), sizeof(v4));
  sockaddr_in6 v6{};
  v6.sin6_family = AF_INET6;
  BOOST_REQUIRE(inet_pton(AF_INET6, address.c_str(), &v6.sin6_addr) == 1);
  return list.contains(reinterpret_cast<const sockaddr &>(v6), sizeof(v6));
}

} // namespace

BOOST_AUTO_TEST_SUITE(network_list)

BOOST_AUTO_TEST_CASE(addresses_in_a_network_are_held) {
  const auto list = NetworkList::parse("10.1.0.0/16, 192.0.2.7, fd00::/8");
  BOOST_REQUIRE(list);
  BOOST_TEST(holds(*list, "10.1.200.3"));
  BOOST_TEST(!holds(*list, "10.2.0.1"));
  BOOST_TEST(holds(*list, "192.0.2.7"));
  BOOST_TEST(!holds(*list, "192.0.2.8"));
  BOOST_TEST(holds(*list, "fd12::1"));
  BOOST_TEST(!holds(*list, "fe80::1"));
  // a dual-stack listener sees IPv4 peers as v4-mapped
  BOOST_TEST(holds(*list, "::ffff:10.1.0.9"));
  BOOST_TEST(list->to_string() == "10.1.0.0/16,192.0.2.7/32,fd00::/8");
  BOOST_TEST(NetworkList::parse("")->empty());
}

BOOST_AUTO_TEST_CASE(bad_networks_are_named) {
  BOOST_TEST(NetworkList::parse("10.0.0.0/8,nonsense").error() ==
             "\"nonsense\": not an IPv4 or IPv6 address or network");
  BOOST_TEST(NetworkList::parse("10.0.0.0/33").error() ==
             "\"10.0.0.0/33\": the prefix length must be a number from 0 to "
             "32");
  BOOST_TEST(NetworkList::parse("10.0.0.1/8").error() ==
             "\"10.0.0.1/8\": bits are set after the prefix; did you mean "
             "10.0.0.0/8?");
}

BOOST_AUTO_TEST_SUITE_END()
