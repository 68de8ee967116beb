#include "webhook/RetrySchedule.hpp"

#include <boost/test/unit_test.hpp>

#include <string>

using dovewarden::webhook::RetrySchedule;
using namespace std::chrono_literals;

BOOST_AUTO_TEST_SUITE(retry_schedule)

BOOST_AUTO_TEST_CASE(default_is_the_standard_schedule) {
  const RetrySchedule schedule;
  BOOST_TEST(schedule.attempts() == 8u);
  BOOST_TEST(schedule.to_string() == "0s,5s,5m,30m,2h,5h,10h,10h");
  BOOST_TEST(schedule.nominal_delay(0)->count() == 0);
  BOOST_TEST(schedule.nominal_delay(1)->count() == 5000);
  BOOST_TEST(schedule.nominal_delay(4)->count() == 2 * 3600 * 1000);
  BOOST_TEST(schedule.nominal_delay(7)->count() == 10 * 3600 * 1000);
  BOOST_TEST(!schedule.nominal_delay(8));
}

BOOST_AUTO_TEST_CASE(parses_a_short_schedule) {
  auto schedule = RetrySchedule::parse("0s, 100ms,1m");
  BOOST_REQUIRE(schedule);
  BOOST_TEST(schedule->attempts() == 3u);
  BOOST_TEST(schedule->to_string() == "0s,100ms,1m");
}

BOOST_AUTO_TEST_CASE(errors_name_the_bad_item) {
  auto schedule = RetrySchedule::parse("0s,5s,5x,30m");
  BOOST_REQUIRE(!schedule);
  BOOST_TEST(schedule.error().find("item 3") != std::string::npos);
  BOOST_TEST(schedule.error().find("\"5x\"") != std::string::npos);
  BOOST_TEST(!RetrySchedule::parse("0s,5"));
  BOOST_TEST(!RetrySchedule::parse("-5s"));
  BOOST_TEST(!RetrySchedule::parse(""));
  BOOST_TEST(!RetrySchedule::parse(" , "));
}

BOOST_AUTO_TEST_CASE(jitter_stays_within_twenty_percent) {
  auto schedule = *RetrySchedule::parse("0s,10s");
  bool varied = false;
  for (int i = 0; i < 200; i++) {
    BOOST_TEST(schedule.delay(0)->count() == 0);
    const auto delay = *schedule.delay(1);
    BOOST_TEST((delay >= 8s));
    BOOST_TEST((delay <= 12s));
    varied = varied || delay != 10s;
  }
  BOOST_TEST(varied);
}

BOOST_AUTO_TEST_CASE(exhausted_schedule_gives_nothing) {
  auto schedule = *RetrySchedule::parse("0s,100ms,100ms");
  BOOST_TEST(schedule.delay(2).has_value());
  BOOST_TEST(!schedule.delay(3));
  BOOST_TEST(!schedule.delay(1000));
}

BOOST_AUTO_TEST_SUITE_END()
