#include "Wait.hpp"
#include "util/SerialExecutor.hpp"

#include <boost/test/unit_test.hpp>

#include <atomic>
#include <chrono>
#include <future>
#include <mutex>
#include <thread>
#include <vector>

using dovewarden::test::blocked;
using dovewarden::test::thread_id;
using dovewarden::test::wait_until;
using dovewarden::util::SerialExecutor;
using namespace std::chrono_literals;

BOOST_AUTO_TEST_SUITE(serial_executor)

BOOST_AUTO_TEST_CASE(runs_jobs_in_the_order_posted_on_another_thread) {
  std::vector<int> order;
  std::thread::id ran_on;
  {
    SerialExecutor executor;
    for (int i = 0; i < 200; i++)
      executor.post([&order, &ran_on, i] {
        order.push_back(i);
        ran_on = std::this_thread::get_id();
      });
    executor.wait_idle();
    BOOST_TEST(order.size() == 200u);
  }
  for (int i = 0; i < 200; i++)
    BOOST_TEST(order[i] == i);
  BOOST_TEST((ran_on != std::this_thread::get_id()));
}

BOOST_AUTO_TEST_CASE(does_not_run_two_jobs_at_once) {
  std::atomic<int> running{0};
  std::atomic<int> most{0};
  SerialExecutor executor;
  for (int i = 0; i < 20; i++)
    executor.post([&] {
      most = std::max(most.load(), ++running);
      // long enough that a second job at once would overlap it
      std::this_thread::sleep_for(1ms);
      running--;
    });
  executor.wait_idle();
  BOOST_TEST(most.load() == 1);
}

BOOST_AUTO_TEST_CASE(wait_idle_waits_for_the_job_being_run) {
  SerialExecutor executor;
  std::promise<void> started;
  std::promise<void> release;
  auto released = release.get_future().share();
  std::atomic<bool> finished{false};
  executor.post([&] {
    started.set_value();
    released.wait();
    finished = true;
  });
  started.get_future().wait();
  std::atomic<pid_t> waiter_id{0};
  auto waiter = std::async(std::launch::async, [&] {
    waiter_id = thread_id();
    executor.wait_idle();
  });
  BOOST_TEST(wait_until([&] { return blocked(waiter_id); }));
  BOOST_TEST((waiter.wait_for(0ms) == std::future_status::timeout));
  release.set_value();
  waiter.get();
  BOOST_TEST(finished.load());
}

BOOST_AUTO_TEST_CASE(a_job_may_post_another) {
  std::vector<int> order;
  SerialExecutor executor;
  // job 1 posts job 3 only once job 2 is posted: the executor promises the
  // order of posting, and this fixes which one that is
  std::promise<void> second_posted;
  auto posted = second_posted.get_future().share();
  executor.post([&] {
    order.push_back(1);
    posted.wait();
    executor.post([&] { order.push_back(3); });
  });
  executor.post([&] { order.push_back(2); });
  second_posted.set_value();
  executor.wait_idle();
  BOOST_TEST((order == std::vector<int>{1, 2, 3}));
}

BOOST_AUTO_TEST_CASE(destruction_runs_what_is_still_queued) {
  std::atomic<int> ran{0};
  {
    SerialExecutor executor;
    for (int i = 0; i < 50; i++)
      executor.post([&] {
        // slow enough that most are still queued at the destruction
        std::this_thread::sleep_for(100us);
        ran++;
      });
  }
  BOOST_TEST(ran.load() == 50);
}

BOOST_AUTO_TEST_SUITE_END()
