#include "util/ListenAddress.hpp"

#include <boost/test/unit_test.hpp>

namespace util = dovewarden::util;

BOOST_AUTO_TEST_SUITE(listen_address)

BOOST_AUTO_TEST_CASE(listen_addresses_parse) {
  auto a = util::ListenAddress::parse("127.0.0.1:9090");
  BOOST_REQUIRE(a);
  BOOST_TEST(a->host == "127.0.0.1");
  BOOST_TEST(a->port == 9090);
  a = util::ListenAddress::parse(":9090");
  BOOST_REQUIRE(a);
  BOOST_TEST(a->host == "");
  BOOST_TEST(a->to_string() == ":9090");
  a = util::ListenAddress::parse("[::1]:80");
  BOOST_REQUIRE(a);
  BOOST_TEST(a->host == "::1");
  BOOST_TEST(a->to_string() == "[::1]:80");
  a = util::ListenAddress::parse("localhost:65535");
  BOOST_REQUIRE(a);
  BOOST_TEST(a->host == "localhost");
  BOOST_TEST(a->port == 65535);
}

BOOST_AUTO_TEST_CASE(bad_listen_addresses_are_refused) {
  for (const char *bad :
       {"", "foo", "9090", "1.2.3.4", "::1:80", "host:", "host:0", "host:65536",
        "host:x", "[::1]", "[]:80", "[::1:80", "a b:80", "host:-1"}) {
    BOOST_TEST_CONTEXT(bad) {
      BOOST_TEST(!util::ListenAddress::parse(bad).has_value());
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()
