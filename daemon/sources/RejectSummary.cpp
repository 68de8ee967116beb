#include "sources/RejectSummary.hpp"

#include "util/Logger.hpp"

namespace dovewarden::sources {

namespace {

constexpr auto k_interval = std::chrono::minutes(1);

} // namespace

RejectSummary::RejectSummary(std::string source)
    : m_source(std::move(source)), m_throttle(k_interval) {}

void RejectSummary::record(wire::Reject reason, std::size_t size) {
  LOG_DEBUG(m_source, ": rejected a message of ", size,
            " bytes: ", wire::reject_name(reason));
  const auto index = static_cast<std::size_t>(reason);
  if (index < m_counts.size())
    m_counts[index]++;
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
  for (std::size_t i = 0; i < m_counts.size(); i++) {
    if (m_counts[i] == 0)
      continue;
    if (!reasons.empty())
      reasons += ", ";
    reasons += wire::reject_name(static_cast<wire::Reject>(i));
    reasons += ": " + std::to_string(m_counts[i]);
  }
  // at most once a minute (the first one at once), so no period is named
  LOG_WARN(m_source, ": rejected ", m_pending, " malformed message",
           m_pending == 1 ? "" : "s", " since the last report (", reasons,
           "); DOVEWARDEN_LOG_LEVEL=debug logs each one");
  m_counts.fill(0);
  m_pending = 0;
  m_throttle.take_suppressed();
}

} // namespace dovewarden::sources
