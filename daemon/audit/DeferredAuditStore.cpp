#include "audit/DeferredAuditStore.hpp"

#include <utility>

namespace dovewarden::audit {

namespace {

// Calls method on the backend, if it opens.
template <typename T, typename Call>
AuditStore::Result<T> through(AuditStore::Result<AuditStore *> backend,
                              Call call) {
  if (!backend)
    return tl::unexpected(backend.error());
  return call(**backend);
}

} // namespace

DeferredAuditStore::DeferredAuditStore(std::string chain, Open open,
                                       std::unique_ptr<AuditStore> opened)
    : AuditStore(std::move(chain)), m_open(std::move(open)),
      m_backend(std::move(opened)) {}

// the base class holds its mutex around every do_ call: one at a time
AuditStore::Result<AuditStore *> DeferredAuditStore::backend() {
  if (!m_backend) {
    auto opened = m_open();
    if (!opened)
      return tl::unexpected(opened.error());
    m_backend = std::move(*opened);
  }
  return m_backend.get();
}

AuditStore::Result<Head> DeferredAuditStore::do_head() {
  return through<Head>(backend(), [](AuditStore &s) { return s.head(); });
}

AuditStore::Result<std::vector<bool>>
DeferredAuditStore::do_recorded(const std::vector<EventKey> &keys) {
  return through<std::vector<bool>>(
      backend(), [&](AuditStore &s) { return s.recorded(keys); });
}

AuditStore::Result<void>
DeferredAuditStore::do_append(const std::vector<Record> &records,
                              const std::vector<InstanceMark> &marks) {
  return through<void>(backend(),
                       [&](AuditStore &s) { return s.append(records, marks); });
}

AuditStore::Result<std::vector<InstanceMark>>
DeferredAuditStore::do_instances(std::int64_t seen_since) {
  return through<std::vector<InstanceMark>>(
      backend(), [&](AuditStore &s) { return s.instances(seen_since); });
}

AuditStore::Result<void>
DeferredAuditStore::do_add_checkpoint(const Checkpoint &checkpoint) {
  return through<void>(
      backend(), [&](AuditStore &s) { return s.add_checkpoint(checkpoint); });
}

AuditStore::Result<std::vector<Checkpoint>>
DeferredAuditStore::do_checkpoints(std::uint64_t after_size,
                                   std::size_t limit) {
  return through<std::vector<Checkpoint>>(backend(), [&](AuditStore &s) {
    return s.checkpoints(after_size, limit);
  });
}

AuditStore::Result<std::optional<Checkpoint>>
DeferredAuditStore::do_latest_checkpoint() {
  return through<std::optional<Checkpoint>>(
      backend(), [](AuditStore &s) { return s.latest_checkpoint(); });
}

AuditStore::Result<std::optional<Record>>
DeferredAuditStore::do_record(std::uint64_t seq) {
  return through<std::optional<Record>>(
      backend(), [&](AuditStore &s) { return s.record(seq); });
}

AuditStore::Result<std::vector<Record>>
DeferredAuditStore::do_query(const Query &query) {
  return through<std::vector<Record>>(
      backend(), [&](AuditStore &s) { return s.query(query); });
}

AuditStore::Result<std::uint64_t>
DeferredAuditStore::do_end_of_prefix_before(std::int64_t time) {
  return through<std::uint64_t>(
      backend(), [&](AuditStore &s) { return s.end_of_prefix_before(time); });
}

AuditStore::Result<std::optional<Checkpoint>> DeferredAuditStore::do_base() {
  return through<std::optional<Checkpoint>>(
      backend(), [](AuditStore &s) { return s.base(); });
}

AuditStore::Result<std::uint64_t>
DeferredAuditStore::do_remove_through(const Checkpoint &base,
                                      std::size_t step) {
  return through<std::uint64_t>(
      backend(), [&](AuditStore &s) { return s.remove_through(base, step); });
}

// The backend's own probe: it runs while the backend is down, at the pace
// of its own backoff.
AuditStore::Result<void> DeferredAuditStore::do_write_probe() {
  return through<void>(backend(), [](AuditStore &s) -> Result<void> {
    if (!s.check())
      return db::unavailable(s.last_failure());
    return {};
  });
}

} // namespace dovewarden::audit
