#include "audit/Retention.hpp"

#include "audit/AuditMetrics.hpp"
#include "util/Logger.hpp"
#include "util/Time.hpp"

#include <utility>

namespace dovewarden::audit {

namespace {

constexpr std::int64_t k_micros_per_day = std::int64_t{86400} * 1000000;

} // namespace

Retention::Retention(AuditStore &store, Sign sign, AuditMetrics &metrics,
                     Options options)
    : m_store(store), m_sign(std::move(sign)), m_metrics(metrics),
      m_options(options) {}

Retention::~Retention() { stop(); }

void Retention::start() {
  if (m_options.days == 0 || m_thread.joinable())
    return;
  m_thread = std::thread([this] { loop(); });
}

void Retention::stop() {
  {
    const std::lock_guard lock(m_mutex);
    m_stopping = true;
  }
  m_wake.notify_all();
  if (m_thread.joinable())
    m_thread.join();
}

void Retention::loop() {
  std::unique_lock lock(m_mutex);
  while (!m_stopping) {
    lock.unlock();
    run(util::unix_micros());
    lock.lock();
    m_wake.wait_for(lock, m_options.interval, [this] { return m_stopping; });
  }
}

db::Result<std::uint64_t> Retention::run(std::int64_t now) {
  const auto cutoff =
      now - static_cast<std::int64_t>(m_options.days) * k_micros_per_day;
  auto removed = remove_before(cutoff, now);
  if (!removed) {
    LOG_WARN("audit: retention failed: ", removed.error());
    m_metrics.retention_run(false, 0);
    return removed;
  }
  if (*removed > 0)
    LOG_INFO("audit: retention removed ", *removed, " records older than ",
             m_options.days, " days");
  m_metrics.retention_run(true, *removed);
  return removed;
}

db::Result<std::uint64_t> Retention::remove_before(std::int64_t cutoff,
                                                   std::int64_t now) {
  const auto last = m_store.end_of_prefix_before(cutoff);
  if (!last)
    return tl::unexpected(last.error());
  if (*last == 0)
    return 0;
  const auto base = m_store.base();
  if (!base)
    return tl::unexpected(base.error());
  if (*base && (*base)->size >= *last)
    return 0;
  const auto record = m_store.record(*last);
  if (!record)
    return tl::unexpected(record.error());
  if (!*record)
    return 0; // removed meanwhile
  return m_store.remove_through(m_sign(*last, (*record)->hash, now),
                                m_options.step);
}

} // namespace dovewarden::audit
