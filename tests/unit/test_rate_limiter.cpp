#include "webhook/RateLimiter.hpp"

#include <boost/test/unit_test.hpp>

using dovewarden::webhook::RateLimiter;
using namespace std::chrono_literals;

BOOST_AUTO_TEST_SUITE(rate_limiter)

BOOST_AUTO_TEST_CASE(zero_rate_is_unlimited) {
  RateLimiter limiter;
  const RateLimiter::Clock::time_point now{};
  for (int i = 0; i < 1000; i++)
    BOOST_TEST(limiter.try_acquire("ep", 0, now));
  BOOST_TEST(limiter.wait("ep", 0, now).count() == 0);
}

BOOST_AUTO_TEST_CASE(burst_then_rate) {
  RateLimiter limiter;
  const RateLimiter::Clock::time_point start{10s};
  for (int i = 0; i < 2; i++)
    BOOST_TEST(limiter.try_acquire("ep", 2, start));
  BOOST_TEST(!limiter.try_acquire("ep", 2, start));
  BOOST_TEST((limiter.wait("ep", 2, start) == 500ms));
  BOOST_TEST(!limiter.try_acquire("ep", 2, start + 499ms));
  BOOST_TEST(limiter.try_acquire("ep", 2, start + 500ms));
  BOOST_TEST(!limiter.try_acquire("ep", 2, start + 500ms));
  // a long pause refills the bucket to its capacity only
  const auto later = start + 1h;
  BOOST_TEST(limiter.try_acquire("ep", 2, later));
  BOOST_TEST(limiter.try_acquire("ep", 2, later));
  BOOST_TEST(!limiter.try_acquire("ep", 2, later));
}

BOOST_AUTO_TEST_CASE(slow_rate_allows_one_at_a_time) {
  RateLimiter limiter;
  const RateLimiter::Clock::time_point start{10s};
  BOOST_TEST(limiter.try_acquire("ep", 0.5, start));
  BOOST_TEST(!limiter.try_acquire("ep", 0.5, start + 1s));
  BOOST_TEST((limiter.wait("ep", 0.5, start + 1s) == 1s));
  const auto ready = start + 1s + limiter.wait("ep", 0.5, start + 1s);
  BOOST_TEST(limiter.try_acquire("ep", 0.5, ready));
}

BOOST_AUTO_TEST_CASE(keys_are_independent) {
  RateLimiter limiter;
  const RateLimiter::Clock::time_point now{10s};
  BOOST_TEST(limiter.try_acquire("a", 1, now));
  BOOST_TEST(!limiter.try_acquire("a", 1, now));
  BOOST_TEST(limiter.try_acquire("b", 1, now));
  limiter.forget("a");
  BOOST_TEST(limiter.try_acquire("a", 1, now));
}

BOOST_AUTO_TEST_CASE(over_ten_seconds_rate_holds) {
  RateLimiter limiter;
  const RateLimiter::Clock::time_point start{10s};
  int taken = 0;
  for (auto t = start; t < start + 10s; t += 1ms)
    taken += limiter.try_acquire("ep", 5, t) ? 1 : 0;
  // the first 5 are the full bucket, then 5 a second
  BOOST_TEST(taken >= 54);
  BOOST_TEST(taken <= 55);
}

BOOST_AUTO_TEST_SUITE_END()
