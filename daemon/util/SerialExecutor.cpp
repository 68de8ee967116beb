#include "util/SerialExecutor.hpp"

#include <utility>

namespace dovewarden::util {

SerialExecutor::SerialExecutor() : m_thread([this] { run(); }) {}

SerialExecutor::~SerialExecutor() {
  {
    const std::lock_guard lock(m_mutex);
    m_stopping = true;
  }
  m_posted.notify_one();
  m_thread.join();
}

void SerialExecutor::post(Job job) {
  {
    const std::lock_guard lock(m_mutex);
    m_jobs.push_back(std::move(job));
  }
  m_posted.notify_one();
}

void SerialExecutor::wait_idle() {
  std::unique_lock lock(m_mutex);
  m_idle.wait(lock, [this] { return m_jobs.empty() && !m_running; });
}

void SerialExecutor::run() {
  std::unique_lock lock(m_mutex);
  for (;;) {
    m_posted.wait(lock, [this] { return m_stopping || !m_jobs.empty(); });
    if (m_jobs.empty())
      return; // stopping, and nothing left to run
    Job job = std::move(m_jobs.front());
    m_jobs.pop_front();
    m_running = true;
    lock.unlock();
    job();
    job = nullptr; // what it holds is let go outside the lock
    lock.lock();
    m_running = false;
    if (m_jobs.empty())
      m_idle.notify_all();
  }
}

} // namespace dovewarden::util
