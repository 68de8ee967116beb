#include "webhook/AddressPolicy.hpp"
#include "webhook/EndpointUrl.hpp"

#include <boost/test/unit_test.hpp>

#include <string>

using namespace dovewarden::webhook;

namespace {

// Returns the URL checked, or why it was refused.
std::string checked(const std::string &url, const char *allow = "") {
  const auto result = check_endpoint_url(url, *AddressPolicy::parse(allow));
  return result ? *result : result.error();
}

} // namespace

BOOST_AUTO_TEST_SUITE(endpoint_url)

BOOST_AUTO_TEST_CASE(http_and_https_urls_pass) {
  BOOST_TEST(checked("https://hooks.example/in?x=1") ==
             "https://hooks.example/in?x=1");
  BOOST_TEST(checked("http://hooks.example:8080/") ==
             "http://hooks.example:8080/");
}

BOOST_AUTO_TEST_CASE(a_numeric_host_is_checked_as_libcurl_dials_it) {
  BOOST_TEST(checked("http://2130706433/hook") ==
             "url: 127.0.0.1 is a loopback address "
             "(DOVEWARDEN_WEBHOOK_ALLOW_NETS allows it)");
  BOOST_TEST(checked("http://0x7f.1/hook", "127.0.0.0/8") ==
             "http://127.0.0.1/hook");
}

BOOST_AUTO_TEST_CASE(a_literal_address_the_policy_refuses_is_refused) {
  BOOST_TEST(checked("http://10.1.2.3/") ==
             "url: 10.1.2.3 is a private address "
             "(DOVEWARDEN_WEBHOOK_ALLOW_NETS allows it)");
  BOOST_TEST(checked("http://[::1]:8080/") ==
             "url: ::1 is a loopback address "
             "(DOVEWARDEN_WEBHOOK_ALLOW_NETS allows it)");
  BOOST_TEST(checked("http://10.1.2.3/", "10.0.0.0/8") == "http://10.1.2.3/");
  // a name is checked when it is dialled
  BOOST_TEST(checked("http://localhost/") == "http://localhost/");
}

BOOST_AUTO_TEST_CASE(other_urls_are_refused_with_why) {
  BOOST_TEST(checked("ftp://hooks.example/") ==
             "url: expected an http or https URL");
  BOOST_TEST(checked("hooks example").rfind("url: ", 0) == 0u);
  BOOST_TEST(checked("https://hooks.example/" + std::string(1024, 'a')) ==
             "url: longer than 1024 characters");
}

BOOST_AUTO_TEST_CASE(a_host_that_decodes_to_bytes_no_text_has_is_refused) {
  const std::string refused = "url: the host, decoded, is not UTF-8 text";
  BOOST_TEST(checked("https://crm.example%99/hook") == refused);
  BOOST_TEST(checked("https://crm%c3.example/hook") == refused);
  BOOST_TEST(checked("https://crm%7f.example/hook") == refused);
  // a name in UTF-8 is one, written as it is or escaped
  BOOST_TEST(checked("https://b%c3%bccher.example/hook") ==
             "https://b\xc3\xbc"
             "cher.example/hook");
  BOOST_TEST(checked("https://b\xc3\xbc"
                     "cher.example/hook") == "https://b\xc3\xbc"
                                             "cher.example/hook");
}

BOOST_AUTO_TEST_CASE(the_host_for_log_lines_leaves_out_credentials) {
  BOOST_TEST(url_host("https://user:secret@hooks.example:8443/in") ==
             "hooks.example");
  BOOST_TEST(url_host("not a url") == "?");
}

BOOST_AUTO_TEST_SUITE_END()
