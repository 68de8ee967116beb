#include "sources/RejectSummary.hpp"

#include "util/Logger.hpp"

namespace dovewarden::sources {

namespace {

constexpr auto k_interval = std::chrono::minutes(1);

} // namespace

RejectSummary::RejectSummary(std::string source)
    : m_source(std::move(source)), m_throttle(k_interval) {}

void RejectSummary::record(wire::Reject reason, std::size_t size) {
  record(wire::reject_name(reason), size);
}

void RejectSummary::record(std::string_view reason, std::size_t size) {
  LOG_DEBUG(m_source, ": rejected a message of ", size, " bytes: ", reason);
  auto it = m_counts.begin();
  while (it != m_counts.end() && it->first != reason)
    ++it;
  if (it == m_counts.end())
    m_counts.emplace_back(std::string(reason), 1);
  else
    it->second++;
  m_pending++;
  tick();
}

void RejectSummary::tick() {
  if (m_pending == 0 || !m_throttle.allow())
    return;
  report();
}

void RejectSummary::flush() {
  if (m_pending > 0)
    report();
}

void RejectSummary::report() {
  std::string reasons;
  for (const auto &[reason, count] : m_counts) {
    if (!reasons.empty())
      reasons += ", ";
    reasons += reason + ": " + std::to_string(count);
  }
  // at most once a minute (the first one at once), so no period is named
  LOG_WARN(m_source, ": rejected ", m_pending, " malformed message",
           m_pending == 1 ? "" : "s", " since the last report (", reasons,
           "); DOVEWARDEN_LOG_LEVEL=debug logs each one");
  m_counts.clear();
  m_pending = 0;
  m_throttle.take_suppressed();
}

} // namespace dovewarden::sources
