#include "webhook/AddressPolicy.hpp"
#include "webhook/HostCheck.hpp"

#include <boost/test/unit_test.hpp>

using namespace std::chrono_literals;
using dovewarden::webhook::AddressPolicy;
using dovewarden::webhook::check_host;

BOOST_AUTO_TEST_SUITE(host_check)

BOOST_AUTO_TEST_CASE(a_name_of_loopback_addresses_gets_the_literal_hint) {
  const auto checked =
      check_host("http://localhost:1/hook", AddressPolicy{}, 3s);
  BOOST_REQUIRE(checked.refusal);
  BOOST_TEST(checked.refusal->rfind("url: localhost: ", 0) == 0u,
             *checked.refusal);
  BOOST_TEST(
      checked.refusal->find("is a loopback address "
                            "(DOVEWARDEN_WEBHOOK_ALLOW_NETS allows it)") !=
          std::string::npos,
      *checked.refusal);
  BOOST_TEST(!checked.warning);
}

BOOST_AUTO_TEST_CASE(an_allowed_name_passes_without_a_word) {
  const auto policy = AddressPolicy::parse("127.0.0.0/8,::1").value();
  const auto checked = check_host("http://localhost:1/hook", policy, 3s);
  BOOST_TEST(!checked.refusal);
  BOOST_TEST(!checked.warning);
}

BOOST_AUTO_TEST_CASE(a_name_that_does_not_resolve_is_a_warning) {
  // .invalid never resolves (RFC 6761)
  const auto checked =
      check_host("https://dw-nowhere.invalid/hook", AddressPolicy{}, 3s);
  BOOST_TEST(!checked.refusal);
  BOOST_REQUIRE(checked.warning);
  BOOST_TEST(checked.warning->rfind("url: dw-nowhere.invalid does not resolve "
                                    "now (",
                                    0) == 0u,
             *checked.warning);
}

BOOST_AUTO_TEST_CASE(a_literal_address_is_left_to_the_url_check) {
  const auto checked = check_host("http://127.0.0.1:1/", AddressPolicy{}, 3s);
  BOOST_TEST(!checked.refusal);
  BOOST_TEST(!checked.warning);
}

BOOST_AUTO_TEST_SUITE_END()
