#include "util/Time.hpp"

#include <boost/test/unit_test.hpp>

using namespace dovewarden::util;
using namespace std::chrono_literals;
using Clock = std::chrono::system_clock;

BOOST_AUTO_TEST_SUITE(util_time)

BOOST_AUTO_TEST_CASE(unix_time_is_seconds_and_the_epoch_is_never) {
  BOOST_TEST(unix_time(Clock::from_time_t(1445412480) + 999ms) == 1445412480);
  BOOST_TEST(unix_time(Clock::time_point{}).is_null());
}

BOOST_AUTO_TEST_SUITE_END()
