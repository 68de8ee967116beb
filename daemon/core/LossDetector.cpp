#include "core/LossDetector.hpp"

namespace dovewarden::core {

namespace {

void remember_user(std::string &into, std::string_view user) {
  if (user.size() <= LossDetector::k_max_user)
    into.assign(user);
  else
    into.clear();
}

} // namespace

LossDetector::LossDetector(Options options) : m_options(options) {
  if (m_options.max_instances == 0)
    m_options.max_instances = 1;
}

std::optional<LossDetector::Loss> LossDetector::observe(std::string_view inst,
                                                        std::uint64_t seq,
                                                        Clock::time_point now,
                                                        std::string_view user) {
  std::optional<Loss> loss;
  const auto found = m_index.find(inst);
  if (found == m_index.end()) {
    m_recency.push_front(Instance{std::string(inst), seq, now, {}});
    remember_user(m_recency.front().last_user, user);
    m_index.emplace(m_recency.front().inst, m_recency.begin());
  } else {
    auto &instance = *found->second;
    loss = judge(instance, seq);
    const bool duplicate = !loss && seq <= instance.last_seq;
    if (!duplicate) {
      instance.last_seq = seq;
      remember_user(instance.last_user, user);
    }
    instance.seen = now;
    m_recency.splice(m_recency.begin(), m_recency, found->second);
  }
  evict(now);
  return loss;
}

std::optional<LossDetector::Loss> LossDetector::judge(const Instance &instance,
                                                      std::uint64_t seq) const {
  const auto last = instance.last_seq;
  // each difference is taken in the direction that cannot wrap
  if (seq > last) {
    const std::uint64_t missing = seq - last - 1;
    if (missing == 0)
      return std::nullopt;
    if (missing <= m_options.max_gap)
      return Loss{Loss::Kind::gap, missing, last, seq, instance.last_user};
  } else if (last - seq <= m_options.max_reorder) {
    return std::nullopt;
  }
  return Loss{Loss::Kind::reset, 0, last, seq, instance.last_user};
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
