#include "core/LossDetector.hpp"

namespace dovewarden::core {

LossDetector::LossDetector(Options options) : m_options(options) {
  if (m_options.max_instances == 0)
    m_options.max_instances = 1;
}

std::optional<LossDetector::Loss> LossDetector::observe(std::string_view inst,
                                                        std::uint64_t seq,
                                                        Clock::time_point now) {
  std::optional<Loss> loss;
  const auto found = m_index.find(inst);
  if (found == m_index.end()) {
    m_recency.push_front(Instance{std::string(inst), seq, now});
    m_index.emplace(m_recency.front().inst, m_recency.begin());
  } else {
    auto &instance = *found->second;
    if (seq > instance.last_seq + 1)
      loss = Loss{seq - instance.last_seq - 1, instance.last_seq, seq};
    if (seq > instance.last_seq)
      instance.last_seq = seq;
    instance.seen = now;
    m_recency.splice(m_recency.begin(), m_recency, found->second);
  }
  evict(now);
  return loss;
}

void LossDetector::evict(Clock::time_point now) {
  while (!m_recency.empty()) {
    const auto &oldest = m_recency.back();
    const bool idle = now - oldest.seen > m_options.idle_expiry;
    if (!idle && m_recency.size() <= m_options.max_instances)
      break;
    m_index.erase(std::string_view(oldest.inst));
    m_recency.pop_back();
  }
}

} // namespace dovewarden::core
