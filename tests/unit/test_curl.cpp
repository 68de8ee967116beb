#include "util/Curl.hpp"

#include <boost/test/unit_test.hpp>

using namespace dovewarden::util;

BOOST_AUTO_TEST_SUITE(curl)

BOOST_AUTO_TEST_CASE(parses_a_url_into_its_parts) {
  const auto url = parse_url("https://user:pw@hooks.example/in?x=1");
  BOOST_REQUIRE(url.has_value());
  BOOST_TEST(url_part(url->get(), CURLUPART_SCHEME) == "https");
  BOOST_TEST(url_part(url->get(), CURLUPART_HOST) == "hooks.example");
  BOOST_TEST(url_part(url->get(), CURLUPART_PATH) == "/in");
  BOOST_TEST(url_part(url->get(), CURLUPART_PORT) == "", "none given");
  BOOST_TEST(url_part(url->get(), CURLUPART_PORT, CURLU_DEFAULT_PORT) == "443");
  BOOST_TEST(url_part(url->get(), CURLUPART_FRAGMENT) == "");
}

BOOST_AUTO_TEST_CASE(says_why_text_is_not_a_url) {
  BOOST_TEST(!parse_url("not a url").has_value());
  const auto port = parse_url("http://hooks.example:99999/");
  BOOST_REQUIRE(!port.has_value());
  BOOST_TEST(port.error() == CURLUE_BAD_PORT_NUMBER);
  const auto scheme = parse_url("nosuchscheme://hooks.example/");
  BOOST_REQUIRE(!scheme.has_value());
  BOOST_TEST(scheme.error() == CURLUE_UNSUPPORTED_SCHEME);
  BOOST_TEST(
      parse_url("nosuchscheme://hooks.example/", CURLU_NON_SUPPORT_SCHEME)
          .has_value());
}

BOOST_AUTO_TEST_SUITE_END()
