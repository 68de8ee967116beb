#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <mutex>
#include <optional>

namespace dovewarden::util {

// A FIFO of at most capacity items shared by producers and one or more
// consumers. close() refuses new items; what is queued can still be taken.
template <typename T> class BoundedQueue {
public:
  using Clock = std::chrono::steady_clock;

  enum class Push { ok, full, closed };

  explicit BoundedQueue(std::size_t capacity)
      : m_capacity(capacity == 0 ? 1 : capacity) {}
  BoundedQueue(const BoundedQueue &) = delete;
  BoundedQueue &operator=(const BoundedQueue &) = delete;

  // Adds item without waiting. Returns full or closed if it was not added.
  Push try_push(const T &item) {
    {
      std::lock_guard lock(m_mutex);
      if (m_closed)
        return Push::closed;
      if (m_items.size() >= m_capacity)
        return Push::full;
      m_items.push_back(item);
    }
    m_not_empty.notify_one();
    return Push::ok;
  }

  // Adds items[0..count) in order without waiting, as many as there is room
  // for. Returns how many were added; closed is set if the queue is closed.
  std::size_t try_push_some(const T *items, std::size_t count, bool &closed) {
    std::size_t added = 0;
    {
      std::lock_guard lock(m_mutex);
      closed = m_closed;
      if (m_closed)
        return 0;
      while (added < count && m_items.size() < m_capacity)
        m_items.push_back(items[added++]);
    }
    if (added > 0)
      m_not_empty.notify_one();
    return added;
  }

  // Adds item, waiting for room. Returns false if the queue was closed first.
  bool push(const T &item) {
    {
      std::unique_lock lock(m_mutex);
      m_not_full.wait(lock,
                      [&] { return m_closed || m_items.size() < m_capacity; });
      if (m_closed)
        return false;
      m_items.push_back(item);
    }
    m_not_empty.notify_one();
    return true;
  }

  // Takes the oldest item, waiting until deadline. Returns nothing on timeout
  // or when the queue is closed and empty.
  std::optional<T> pop_until(Clock::time_point deadline) {
    std::optional<T> item;
    {
      std::unique_lock lock(m_mutex);
      m_not_empty.wait_until(lock, deadline,
                             [&] { return m_closed || !m_items.empty(); });
      if (m_items.empty())
        return std::nullopt;
      item.emplace(std::move(m_items.front()));
      m_items.pop_front();
    }
    m_not_full.notify_one();
    return item;
  }

  // Refuses further items and wakes every waiter.
  void close() {
    {
      std::lock_guard lock(m_mutex);
      m_closed = true;
    }
    m_not_empty.notify_all();
    m_not_full.notify_all();
  }

  // Returns true once close() was called and nothing is left to take.
  bool drained() const {
    std::lock_guard lock(m_mutex);
    return m_closed && m_items.empty();
  }

  std::size_t size() const {
    std::lock_guard lock(m_mutex);
    return m_items.size();
  }

  std::size_t capacity() const { return m_capacity; }

private:
  const std::size_t m_capacity;
  mutable std::mutex m_mutex;
  std::condition_variable m_not_empty;
  std::condition_variable m_not_full;
  std::deque<T> m_items;
  bool m_closed = false;
};

} // namespace dovewarden::util
