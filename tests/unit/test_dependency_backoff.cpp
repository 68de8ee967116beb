#include "util/DependencyBackoff.hpp"

#include <boost/test/unit_test.hpp>

#include <thread>

using dovewarden::util::backoff_wait;
using dovewarden::util::DependencyBackoff;
using namespace std::chrono_literals;

namespace {

const DependencyBackoff::Clock::time_point k_start{1000s};

DependencyBackoff::Options options() { return {100ms, 1000ms}; }

} // namespace

BOOST_AUTO_TEST_SUITE(dependency_backoff)

BOOST_AUTO_TEST_CASE(waits_double_from_min_to_max_with_jitter) {
  for (int i = 0; i < 100; i++) {
    BOOST_TEST((backoff_wait(100ms, 1000ms, 1) >= 80ms));
    BOOST_TEST((backoff_wait(100ms, 1000ms, 1) <= 120ms));
    BOOST_TEST((backoff_wait(100ms, 1000ms, 3) >= 320ms));
    BOOST_TEST((backoff_wait(100ms, 1000ms, 3) <= 480ms));
    BOOST_TEST((backoff_wait(100ms, 1000ms, 60) <= 1000ms));
    BOOST_TEST((backoff_wait(100ms, 1000ms, 60) >= 800ms));
  }
}

BOOST_AUTO_TEST_CASE(anyone_may_try_while_it_is_up) {
  DependencyBackoff backoff(options());
  BOOST_TEST(backoff.up());
  BOOST_TEST(backoff.may_try(k_start));
  BOOST_TEST(backoff.may_try(k_start));
  BOOST_TEST(backoff.failures() == 0);
}

BOOST_AUTO_TEST_CASE(one_caller_tries_once_the_wait_is_over) {
  DependencyBackoff backoff(options());
  BOOST_TEST(backoff.failed(k_start)); // it was up
  BOOST_TEST(!backoff.up());
  BOOST_TEST(!backoff.may_try(k_start + 79ms));
  BOOST_TEST(backoff.may_try(k_start + 121ms));
  // the try is under way: nobody else tries meanwhile
  BOOST_TEST(!backoff.may_try(k_start + 122ms));
  BOOST_TEST(!backoff.failed(k_start + 130ms));
  BOOST_TEST(backoff.failures() == 2);
  // the second wait is about twice the first
  BOOST_TEST(!backoff.may_try(k_start + 130ms + 159ms));
  BOOST_TEST(backoff.may_try(k_start + 130ms + 241ms));
}

BOOST_AUTO_TEST_CASE(failures_of_others_while_down_do_not_lengthen_the_wait) {
  DependencyBackoff backoff(options());
  backoff.failed(k_start);
  for (int i = 0; i < 10; i++)
    BOOST_TEST(!backoff.failed(k_start + 1ms));
  BOOST_TEST(backoff.failures() == 1);
  BOOST_TEST(backoff.may_try(k_start + 121ms));
}

BOOST_AUTO_TEST_CASE(a_try_given_back_is_due_for_the_next_caller) {
  DependencyBackoff backoff(options());
  backoff.failed(k_start);
  BOOST_TEST(backoff.may_try(k_start + 121ms));
  backoff.untried();
  BOOST_TEST(backoff.may_try(k_start + 122ms));
  BOOST_TEST(backoff.failures() == 1);
}

BOOST_AUTO_TEST_CASE(only_the_thread_that_tries_can_end_the_try) {
  DependencyBackoff backoff(options());
  backoff.failed(k_start);
  BOOST_TEST(backoff.may_try(k_start + 121ms));
  // another worker, done with what it began while it was up
  std::thread other([&] {
    backoff.untried();
    backoff.failed(k_start + 122ms);
  });
  other.join();
  BOOST_TEST(!backoff.may_try(k_start + 123ms)); // still this thread's try
  BOOST_TEST(backoff.failures() == 1);
  BOOST_TEST(!backoff.failed(k_start + 130ms)); // this thread's try failed
  BOOST_TEST(backoff.failures() == 2);
}

BOOST_AUTO_TEST_CASE(a_success_brings_it_up_and_forgets_the_failures) {
  DependencyBackoff backoff(options());
  backoff.failed(k_start);
  BOOST_TEST(backoff.may_try(k_start + 121ms));
  backoff.failed(k_start + 121ms);
  BOOST_TEST(backoff.may_try(k_start + 1s));
  BOOST_TEST(backoff.succeeded()); // it was down
  BOOST_TEST(backoff.up());
  BOOST_TEST(backoff.failures() == 0);
  BOOST_TEST(!backoff.succeeded());
  // down again: the first wait again
  backoff.failed(k_start + 2s);
  BOOST_TEST(backoff.may_try(k_start + 2s + 121ms));
}

BOOST_AUTO_TEST_SUITE_END()
