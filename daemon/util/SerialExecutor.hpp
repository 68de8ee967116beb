#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

namespace dovewarden::util {

// Runs jobs one at a time, in the order they were posted, on a thread of its
// own: work that must keep its order (a store's writes) but need not hold up
// the thread that asks for it.
class SerialExecutor {
public:
  using Job = std::function<void()>;

  SerialExecutor();
  // Runs what is still queued, then joins the thread.
  ~SerialExecutor();
  SerialExecutor(const SerialExecutor &) = delete;
  SerialExecutor &operator=(const SerialExecutor &) = delete;

  // Queues job behind the others; it runs on the executor's thread.
  void post(Job job);
  // Returns once every job posted before the call has run.
  void wait_idle();

private:
  void run();

  std::mutex m_mutex;
  std::condition_variable m_posted;
  std::condition_variable m_idle;
  std::deque<Job> m_jobs;
  bool m_running = false; // a job is being run
  bool m_stopping = false;
  std::thread m_thread;
};

} // namespace dovewarden::util
