#include "util/BearerToken.hpp"
#include "util/HttpRequest.hpp"
#include "util/HttpResponse.hpp"

#include <boost/test/unit_test.hpp>

#include <string>

using dovewarden::util::BearerToken;
using dovewarden::util::HttpRequest;
using dovewarden::util::HttpResponse;

BOOST_AUTO_TEST_SUITE(http_request)

BOOST_AUTO_TEST_CASE(the_target_is_split_and_decoded) {
  HttpRequest request;
  BOOST_REQUIRE(request.set_target(
      "/v1/users/dave%40example.org+x?mask=a%2Ab+c&secrets=1&flag&=v&bad=%zz"));
  // + is a space only in the query
  BOOST_TEST(request.path == "/v1/users/dave@example.org+x");
  BOOST_TEST(request.param("mask") == "a*b c");
  BOOST_TEST(request.param("secrets") == "1");
  BOOST_TEST(request.has_param("flag"));
  BOOST_TEST(request.param("flag") == "");
  BOOST_TEST(request.param("bad") == "%zz");
  BOOST_TEST(!request.has_param("other"));
  BOOST_TEST(!request.set_target("http://host/path"));
  BOOST_TEST(!request.set_target(""));
}

BOOST_AUTO_TEST_CASE(header_names_match_in_any_case) {
  HttpRequest request;
  request.headers = {{"Content-Type", "a"}, {"X-Two", "1"}, {"x-two", "2"}};
  BOOST_TEST(request.header("content-type") == "a");
  BOOST_TEST(request.header("X-TWO") == "1");
  BOOST_TEST(request.header("Missing") == "");
  BOOST_TEST(!request.has_header("Missing"));
  HttpResponse response;
  response.set_header("Allow", "GET");
  response.set_header("allow", "POST");
  BOOST_TEST(response.headers.size() == 1u);
  BOOST_TEST(response.header("ALLOW") == "POST");
}

BOOST_AUTO_TEST_CASE(bearer_credentials_are_read_in_any_scheme_case) {
  BOOST_TEST(*BearerToken::from_header("Bearer abc") == "abc");
  BOOST_TEST(*BearerToken::from_header("bearer  abc ") == "abc");
  BOOST_TEST(*BearerToken::from_header("BEARER abc") == "abc");
  BOOST_TEST(!BearerToken::from_header("Basic abc"));
  BOOST_TEST(!BearerToken::from_header("Bearerabc"));
  BOOST_TEST(!BearerToken::from_header("Bearer"));
  const BearerToken token("abc");
  BOOST_TEST(token.verify("abc"));
  BOOST_TEST(!token.verify("abd"));
  BOOST_TEST(!token.verify(""));
}

BOOST_AUTO_TEST_SUITE_END()
