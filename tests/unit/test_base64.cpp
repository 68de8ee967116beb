#include "util/Base64.hpp"

#include <boost/test/unit_test.hpp>

#include <string>
#include <utility>

using dovewarden::util::base64_decode;
using dovewarden::util::base64_encode;

namespace {

// RFC 4648, section 10
const std::pair<const char *, const char *> k_vectors[] = {
    {"", ""},
    {"f", "Zg=="},
    {"fo", "Zm8="},
    {"foo", "Zm9v"},
    {"foob", "Zm9vYg=="},
    {"fooba", "Zm9vYmE="},
    {"foobar", "Zm9vYmFy"},
};

} // namespace

BOOST_AUTO_TEST_SUITE(base64)

BOOST_AUTO_TEST_CASE(rfc4648_vectors_encode) {
  for (const auto &[bytes, text] : k_vectors)
    BOOST_TEST(base64_encode(bytes) == text);
}

BOOST_AUTO_TEST_CASE(rfc4648_vectors_decode) {
  for (const auto &[bytes, text] : k_vectors) {
    const auto decoded = base64_decode(text);
    BOOST_TEST_REQUIRE(decoded.has_value(), text);
    BOOST_TEST(*decoded == bytes);
  }
}

BOOST_AUTO_TEST_CASE(padding_is_optional) {
  BOOST_TEST(base64_decode("Zg").value() == "f");
  BOOST_TEST(base64_decode("Zm8").value() == "fo");
  BOOST_TEST(base64_decode("Zm9vYmE").value() == "fooba");
}

BOOST_AUTO_TEST_CASE(binary_bytes_and_the_whole_alphabet_round_trip) {
  std::string bytes;
  for (int i = 0; i < 256; i++)
    bytes += static_cast<char>(i);
  const auto text = base64_encode(bytes);
  BOOST_TEST(text.find('+') != std::string::npos);
  BOOST_TEST(text.find('/') != std::string::npos);
  BOOST_TEST(base64_decode(text).value() == bytes);
  BOOST_TEST(base64_encode(std::string("\xfb\xff", 2)) == "+/8=");
  BOOST_TEST(base64_decode("+/8=").value() == std::string("\xfb\xff", 2));
}

BOOST_AUTO_TEST_CASE(invalid_characters_are_refused) {
  for (const char *text : {"Zm9v YmFy", "Zm9v\nYmFy", " Zm9v", "Zm9v ", "Zm-v",
                           "Zm_v", "Zm9v!", "Zm9v\xff", "\xc3\xa9Zm9"}) {
    const auto decoded = base64_decode(text);
    BOOST_TEST(!decoded.has_value(), text);
  }
  BOOST_TEST(!base64_decode(std::string("Zm9v\0", 5)).has_value());
  BOOST_TEST(base64_decode("Zm-v").error() ==
             "invalid base64 character at position 2");
}

BOOST_AUTO_TEST_CASE(bad_padding_and_lengths_are_refused) {
  for (const char *text : {"Z", "Zm9vY", "Zg=", "Zg===", "Zm8==", "Zm9v=", "=",
                           "==", "Zg==Zg==", "Z===", "Zm=v"}) {
    const auto decoded = base64_decode(text);
    BOOST_TEST(!decoded.has_value(), text);
  }
}

BOOST_AUTO_TEST_SUITE_END()
