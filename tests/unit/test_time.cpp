#include "util/JsonTime.hpp"
#include "util/Time.hpp"

#include <boost/test/unit_test.hpp>

#include <cstdint>
#include <limits>
#include <string>

using namespace dovewarden::util;
using namespace std::chrono_literals;
using Clock = std::chrono::system_clock;

BOOST_AUTO_TEST_SUITE(util_time)

BOOST_AUTO_TEST_CASE(utc_text_is_rfc_3339_to_the_second) {
  // Wed, 21 Oct 2015 07:28:00 GMT
  const auto at = Clock::from_time_t(1445412480) + 999ms;
  BOOST_TEST(utc_text(at) == "2015-10-21T07:28:00Z");
  BOOST_TEST(utc_text(Clock::time_point{}) == "1970-01-01T00:00:00Z");
}

BOOST_AUTO_TEST_CASE(utc_text_of_unix_seconds_out_of_range_is_the_number) {
  BOOST_TEST(utc_text(std::int64_t{1445412480}) == "2015-10-21T07:28:00Z");
  const auto far = std::numeric_limits<std::int64_t>::max();
  BOOST_TEST(utc_text(far) == std::to_string(far));
}

BOOST_AUTO_TEST_CASE(unix_seconds_round_towards_the_epoch) {
  BOOST_TEST(unix_seconds(Clock::from_time_t(1445412480) + 999ms) ==
             1445412480);
  BOOST_TEST(unix_seconds(Clock::time_point{} - 1500ms) == -1);
}

BOOST_AUTO_TEST_CASE(unix_time_is_seconds_and_the_epoch_is_never) {
  BOOST_TEST(unix_time(Clock::from_time_t(1445412480) + 999ms) == 1445412480);
  BOOST_TEST(unix_time(Clock::time_point{}).is_null());
}

BOOST_AUTO_TEST_SUITE_END()
