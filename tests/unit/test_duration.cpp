#include "util/Duration.hpp"

#include <boost/test/unit_test.hpp>

#include <chrono>

namespace util = dovewarden::util;
using namespace std::chrono_literals;

BOOST_AUTO_TEST_SUITE(duration)

BOOST_AUTO_TEST_CASE(durations_parse_with_a_unit) {
  BOOST_TEST(util::parse_duration("500ms").value().count() == 500);
  BOOST_TEST(util::parse_duration("5s").value().count() == 5000);
  BOOST_TEST(util::parse_duration("1m").value().count() == 60000);
  BOOST_TEST(util::parse_duration("1h").value().count() == 3600000);
  BOOST_TEST(util::parse_duration("1d").value().count() == 86400000);
  BOOST_TEST(util::parse_duration("0s").value().count() == 0);
}

BOOST_AUTO_TEST_CASE(bad_durations_are_refused) {
  for (const char *bad : {"", "5", "ms", "s", "5x", "-5s", "1.5s", "5 s", " 5s",
                          "s5", "5S", "99999999999999999999s", "5sec"}) {
    BOOST_TEST_CONTEXT(bad) {
      BOOST_TEST(!util::parse_duration(bad).has_value());
    }
  }
}

BOOST_AUTO_TEST_CASE(durations_format_in_the_largest_unit) {
  BOOST_TEST(util::format_duration(200ms) == "200ms");
  BOOST_TEST(util::format_duration(5s) == "5s");
  BOOST_TEST(util::format_duration(90s) == "90s");
  BOOST_TEST(util::format_duration(2h) == "2h");
  BOOST_TEST(util::format_duration(0ms) == "0s");
}

BOOST_AUTO_TEST_SUITE_END()
