#include "webhook/StoreThread.hpp"

#include <boost/test/unit_test.hpp>

#include <atomic>
#include <thread>
#include <vector>

using dovewarden::webhook::StoreThread;

BOOST_AUTO_TEST_SUITE(store_thread)

BOOST_AUTO_TEST_CASE(asks_on_its_thread_and_answers_on_the_callers) {
  std::atomic<int> wakes{0};
  StoreThread jobs([&] { wakes++; });
  std::thread::id asked_on;
  std::thread::id answered_on;
  int answer = 0;
  jobs.ask(
      [&] {
        asked_on = std::this_thread::get_id();
        return 42;
      },
      [&](int value) {
        answered_on = std::this_thread::get_id();
        answer = value;
      });
  jobs.wait_idle();
  BOOST_TEST(wakes == 1);
  BOOST_TEST(answer == 0, "not before run_replies()");
  BOOST_TEST(jobs.run_replies());
  BOOST_TEST(answer == 42);
  BOOST_TEST((asked_on != std::this_thread::get_id()));
  BOOST_TEST((answered_on == std::this_thread::get_id()));
  BOOST_TEST(!jobs.run_replies());
}

BOOST_AUTO_TEST_CASE(answers_come_in_the_order_asked) {
  StoreThread jobs([] {});
  std::vector<int> answers;
  for (int i = 0; i < 50; i++)
    jobs.ask([i] { return i; }, [&](int value) { answers.push_back(value); });
  jobs.post([] {});
  jobs.wait_idle();
  jobs.run_replies();
  BOOST_REQUIRE_EQUAL(answers.size(), 50u);
  for (int i = 0; i < 50; i++)
    BOOST_TEST(answers[i] == i);
}

BOOST_AUTO_TEST_CASE(what_was_posted_runs_before_it_is_gone) {
  std::atomic<int> ran{0};
  {
    StoreThread jobs([] {});
    for (int i = 0; i < 20; i++)
      jobs.post([&] { ran++; });
  }
  BOOST_TEST(ran == 20);
}

BOOST_AUTO_TEST_SUITE_END()
