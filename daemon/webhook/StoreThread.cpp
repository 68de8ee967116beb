#include "webhook/StoreThread.hpp"

namespace dovewarden::webhook {

void StoreThread::reply(Job reply) {
  {
    const std::lock_guard lock(m_mutex);
    m_replies.push_back(std::move(reply));
  }
  m_wake();
}

bool StoreThread::run_replies() {
  std::vector<Job> replies;
  {
    const std::lock_guard lock(m_mutex);
    replies.swap(m_replies);
  }
  for (auto &reply : replies)
    reply();
  return !replies.empty();
}

} // namespace dovewarden::webhook
