#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <iterator>
#include <mutex>

namespace dovewarden::util {

// A FIFO of at most capacity items shared by producers and one consumer.
// close() refuses new items; what is queued can still be taken.
//
// The consumer takes everything queued at once (one lock and wake-up for
// many items), but a taken item keeps its room until the consumer starts
// on it (release()): the queue holds back producers exactly as if items
// were taken one at a time.
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
      if (!has_room())
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
      while (added < count && has_room())
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
      if (!m_closed && !has_room()) {
        // counted before the room is looked at again: release() reads it
        m_waiting++;
        m_not_full.wait(lock, [&] { return m_closed || has_room(); });
        m_waiting--;
      }
      if (m_closed)
        return false;
      m_items.push_back(item);
    }
    m_not_empty.notify_one();
    return true;
  }

  // Moves every queued item, oldest first, to the end of out, waiting until
  // deadline for one. Each keeps its room until release(). Returns how many
  // were taken: 0 on timeout or when the queue is closed and empty.
  std::size_t take_until(Clock::time_point deadline, std::deque<T> &out) {
    std::unique_lock lock(m_mutex);
    m_not_empty.wait_until(lock, deadline,
                           [&] { return m_closed || !m_items.empty(); });
    const auto taken = m_items.size();
    if (out.empty()) {
      out.swap(m_items);
    } else {
      std::move(m_items.begin(), m_items.end(), std::back_inserter(out));
      m_items.clear();
    }
    m_taken += taken;
    return taken;
  }

  // Frees the room of one item take_until() took; the consumer calls it as
  // it starts on the item.
  void release() {
    m_taken--;
    // seq_cst on both sides: either push() sees the room, or this sees it
    // waiting and wakes it (under the lock, so the wake is not lost)
    if (m_waiting.load() > 0) {
      { std::lock_guard lock(m_mutex); }
      m_not_full.notify_one();
    }
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

  // Returns how many items wait to be taken.
  std::size_t size() const {
    std::lock_guard lock(m_mutex);
    return m_items.size();
  }

  std::size_t capacity() const { return m_capacity; }

private:
  // Needs m_mutex.
  bool has_room() const { return m_items.size() + m_taken < m_capacity; }

  const std::size_t m_capacity;
  mutable std::mutex m_mutex;
  std::condition_variable m_not_empty;
  std::condition_variable m_not_full;
  std::deque<T> m_items;
  bool m_closed = false;
  std::atomic<std::size_t> m_taken{0}; // taken, not yet released
  std::atomic<int> m_waiting{0};       // producers waiting in push()
};

} // namespace dovewarden::util
