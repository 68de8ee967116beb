#pragma once

#include "util/SerialExecutor.hpp"

#include <functional>
#include <mutex>
#include <utility>
#include <vector>

namespace dovewarden::webhook {

// Runs the deliverer's store calls on a thread of their own, one at a time
// in the order asked, while the loop's thread drives the transfers; hands
// each answer back to the loop's thread, which runs them in run_replies().
class StoreThread {
public:
  using Job = std::function<void()>;

  // wake is called on the store's thread after each answer, so that the
  // loop's thread looks.
  explicit StoreThread(std::function<void()> wake) : m_wake(std::move(wake)) {}
  StoreThread(const StoreThread &) = delete;
  StoreThread &operator=(const StoreThread &) = delete;

  // Runs call on the store's thread, then answer(what call returned) on the
  // loop's, in run_replies().
  template <typename Call, typename Answer> void ask(Call call, Answer answer) {
    post([this, call = std::move(call), answer = std::move(answer)]() mutable {
      reply([answer = std::move(answer), result = call()]() mutable {
        answer(std::move(result));
      });
    });
  }
  // Runs job on the store's thread.
  void post(Job job) { m_executor.post(std::move(job)); }
  // Runs the answers that came. Returns false if none had.
  bool run_replies();
  // Returns once every job asked for before has run.
  void wait_idle() { m_executor.wait_idle(); }

private:
  void reply(Job reply);

  std::function<void()> m_wake;
  std::mutex m_mutex;
  std::vector<Job> m_replies;
  // last, so that it is gone (its jobs run) before what they use
  util::SerialExecutor m_executor;
};

} // namespace dovewarden::webhook
