#include "util/Utf8.hpp"

#include <boost/test/unit_test.hpp>
#include <nlohmann/json.hpp>

#include <string>

using dovewarden::util::is_valid_utf8;
using dovewarden::util::to_valid_utf8;

BOOST_AUTO_TEST_SUITE(utf8)

BOOST_AUTO_TEST_CASE(well_formed_text_is_kept) {
  for (const std::string &text : std::initializer_list<std::string>{
           "", "plain ascii", "Grüße", "\xE2\x82\xAC 20",
           "\xF0\x9F\x93\xA7 mail", std::string("nul\0inside", 10)}) {
    BOOST_TEST(to_valid_utf8(text) == text);
    BOOST_TEST(is_valid_utf8(text));
  }
}

BOOST_AUTO_TEST_CASE(each_stray_byte_becomes_one_replacement) {
  const std::string r = "\xEF\xBF\xBD";
  BOOST_TEST(to_valid_utf8("a\xFF"
                           "b") == "a" + r + "b");
  // overlong forms, a surrogate, past U+10FFFF, a lone continuation byte
  BOOST_TEST(to_valid_utf8("\xC0\xAF") == r + r);
  BOOST_TEST(to_valid_utf8("\xE0\x80\xAF") == r + r + r);
  BOOST_TEST(to_valid_utf8("\xED\xA0\x80") == r + r + r);
  BOOST_TEST(to_valid_utf8("\xF4\x90\x80\x80") == r + r + r + r);
  BOOST_TEST(to_valid_utf8("\x80") == r);
  // a sequence cut short, at the end and before other text
  BOOST_TEST(to_valid_utf8("\xE2\x82") == r + r);
  BOOST_TEST(to_valid_utf8("\xE2\x82x") == r + r + "x");
}

BOOST_AUTO_TEST_CASE(malformed_text_is_told_apart) {
  for (const std::string &text : std::initializer_list<std::string>{
           "a\xFF"
           "b",
           "\xC0\xAF", "\xE0\x80\xAF", "\xED\xA0\x80", "\xF4\x90\x80\x80",
           "\x80", "\xE2\x82", "\xE2\x82x", "ok\x99"})
    BOOST_TEST(!is_valid_utf8(text));
}

BOOST_AUTO_TEST_CASE(the_result_reads_back_the_same_from_json) {
  const std::string hostile = "msg\xFF\xC3(\xE2\x28\xA1\xF0\x9F\x93<id>";
  const auto valid = to_valid_utf8(hostile);
  const auto dumped = nlohmann::json(valid).dump(
      -1, ' ', false, nlohmann::json::error_handler_t::strict);
  BOOST_TEST(nlohmann::json::parse(dumped).get<std::string>() == valid);
}

BOOST_AUTO_TEST_SUITE_END()
