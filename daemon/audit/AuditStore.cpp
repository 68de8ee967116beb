#include "audit/AuditStore.hpp"

#include <utility>

namespace dovewarden::audit {

AuditStore::AuditStore(std::string chain)
    : m_chain(std::move(chain)), m_health("audit store") {}

bool AuditStore::check() {
  return m_health.check([this]() -> Result<void> {
    const std::lock_guard lock(m_mutex);
    return do_write_probe();
  });
}

AuditStore::Result<Head> AuditStore::head() {
  const std::lock_guard lock(m_mutex);
  return m_health.watch(do_head());
}

AuditStore::Result<std::vector<bool>>
AuditStore::recorded(const std::vector<EventKey> &keys) {
  if (keys.empty())
    return std::vector<bool>{};
  const std::lock_guard lock(m_mutex);
  return m_health.watch(do_recorded(keys));
}

AuditStore::Result<void>
AuditStore::append(const std::vector<Record> &records,
                   const std::vector<InstanceMark> &marks) {
  for (std::size_t i = 1; i < records.size(); ++i)
    if (records[i].seq != records[i - 1].seq + 1)
      return db::invalid("append: records out of seq order");
  if (records.empty() && marks.empty())
    return {};
  const std::lock_guard lock(m_mutex);
  return m_health.watch(do_append(records, marks));
}

AuditStore::Result<std::vector<InstanceMark>>
AuditStore::instances(std::int64_t seen_since) {
  const std::lock_guard lock(m_mutex);
  return m_health.watch(do_instances(seen_since));
}

AuditStore::Result<void>
AuditStore::add_checkpoint(const Checkpoint &checkpoint) {
  if (checkpoint.origin != m_chain)
    return db::invalid("add_checkpoint: a checkpoint of another chain");
  const std::lock_guard lock(m_mutex);
  return m_health.watch(do_add_checkpoint(checkpoint));
}

AuditStore::Result<std::vector<Checkpoint>>
AuditStore::checkpoints(std::uint64_t after_size, std::size_t limit) {
  const std::lock_guard lock(m_mutex);
  return m_health.watch(do_checkpoints(after_size, limit));
}

AuditStore::Result<std::optional<Checkpoint>> AuditStore::latest_checkpoint() {
  const std::lock_guard lock(m_mutex);
  return m_health.watch(do_latest_checkpoint());
}

AuditStore::Result<std::optional<Record>>
AuditStore::record(std::uint64_t seq) {
  const std::lock_guard lock(m_mutex);
  return m_health.watch(do_record(seq));
}

AuditStore::Result<std::vector<Record>> AuditStore::query(const Query &query) {
  if (query.limit == 0)
    return std::vector<Record>{};
  const std::lock_guard lock(m_mutex);
  return m_health.watch(do_query(query));
}

AuditStore::Result<std::uint64_t>
AuditStore::end_of_prefix_before(std::int64_t time) {
  const std::lock_guard lock(m_mutex);
  return m_health.watch(do_end_of_prefix_before(time));
}

AuditStore::Result<std::optional<Checkpoint>> AuditStore::base() {
  const std::lock_guard lock(m_mutex);
  return m_health.watch(do_base());
}

AuditStore::Result<std::uint64_t>
AuditStore::remove_through(const Checkpoint &base, std::size_t step) {
  if (base.origin != m_chain)
    return db::invalid("remove_through: a base of another chain");
  if (step == 0)
    return db::invalid("remove_through: a step of 0");
  const std::lock_guard lock(m_mutex);
  return m_health.watch(do_remove_through(base, step));
}

} // namespace dovewarden::audit
