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

BOOST_AUTO_TEST_CASE(rfc3339_times_in_dovecots_form_and_variants_parse) {
  BOOST_TEST(*parse_rfc3339_micros("2026-11-22T19:36:10.442828Z") ==
             1795376170442828);
  BOOST_TEST(*parse_rfc3339_micros("1970-01-01T00:00:01Z") == 1000000);
  BOOST_TEST(*parse_rfc3339_micros("1970-01-01t00:00:01.5z") == 1500000);
  BOOST_TEST(*parse_rfc3339_micros("1970-01-01 02:00:01+02:00") == 1000000);
  BOOST_TEST(*parse_rfc3339_micros("1969-12-31T23:00:01-01:00") == 1000000);
  // nanoseconds: digits past µs are dropped
  BOOST_TEST(*parse_rfc3339_micros("1970-01-01T00:00:01.123456789Z") ==
             1123456);
  BOOST_TEST(*parse_rfc3339_micros("2024-02-29T00:00:00Z") == 1709164800000000);
  BOOST_TEST(*parse_rfc3339_micros("2000-02-29T00:00:00Z") == 951782400000000);
  // a leap second is the next minute's first
  BOOST_TEST(*parse_rfc3339_micros("2016-12-31T23:59:60Z") == 1483228800000000);
  BOOST_TEST(*parse_rfc3339_micros("9999-12-31T23:59:59.999999Z") ==
             k_max_unix_seconds * 1000000 - 1);
}

BOOST_AUTO_TEST_CASE(rfc3339_refuses_dates_that_do_not_exist) {
  for (const char *text :
       {"2026-02-30T00:00:00Z", "2026-02-29T00:00:00Z", "1900-02-29T00:00:00Z",
        "2026-04-31T00:00:00Z", "2026-13-01T00:00:00Z", "2026-00-01T00:00:00Z",
        "2026-01-00T00:00:00Z", "2026-01-01T24:00:00Z", "2026-01-01T00:60:00Z",
        "2026-01-01T00:00:61Z"}) {
    BOOST_TEST_CONTEXT(text) {
      BOOST_TEST(!parse_rfc3339_micros(text).has_value());
    }
  }
}

BOOST_AUTO_TEST_CASE(rfc3339_refuses_times_out_of_range_or_malformed) {
  for (const char *text : {
           "1969-12-31T23:59:59Z",            // before the epoch
           "1970-01-01T00:59:59+01:00",       // the same
           "0000-01-01T00:00:00Z",            //
           "-001-01-01T00:00:00Z",            //
           "+2026-01-01T00:00:00Z",           //
           "2026-11-22T19:36:10.Z",           // a dot without digits
           "2026-11-22T19:36:10.1234567890Z", // ten fraction digits
           "2026-11-22T19:36:10.4428280000000000000000000Z", // 25
           "2026-11-22T19:36:10",                            // no zone
           "2026-11-22T19:36:10+2:00",                       //
           "2026-11-22T19:36:10+24:00",                      //
           "2026-11-22T19:36:10Z ",                          // trailing bytes
           "2026-11-22x19:36:10Z",                           //
           "yesterday",                                      //
           "",                                               //
       }) {
    BOOST_TEST_CONTEXT(text) {
      BOOST_TEST(!parse_rfc3339_micros(text).has_value());
    }
  }
}

BOOST_AUTO_TEST_CASE(unix_seconds_parse_with_up_to_nine_fraction_digits) {
  BOOST_TEST(*parse_unix_micros("1795376170.442828") == 1795376170442828);
  BOOST_TEST(*parse_unix_micros("1795376170") == 1795376170000000);
  BOOST_TEST(*parse_unix_micros("0") == 0);
  BOOST_TEST(*parse_unix_micros("1.123456789") == 1123456);
  BOOST_TEST(*parse_unix_micros("253402300799.999999") ==
             k_max_unix_seconds * 1000000 - 1);
}

BOOST_AUTO_TEST_CASE(unix_seconds_refuse_negatives_huge_values_and_forms) {
  for (const char *text :
       {"-1", "-0.5", "253402300800", "99999999999999999999999999", "1e9",
        "1795376170.", ".5", "1795376170.1234567890",
        "1795376170.4428280000000000000000000", "+1", "1 ", "", "NaN"}) {
    BOOST_TEST_CONTEXT(text) {
      BOOST_TEST(!parse_unix_micros(text).has_value());
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()
