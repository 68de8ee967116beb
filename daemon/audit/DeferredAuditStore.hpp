#pragma once

#include "audit/AuditStore.hpp"

#include <functional>
#include <memory>
#include <string>

namespace dovewarden::audit {

// An audit store whose backend may not open yet (a PostgreSQL server that
// is down when the daemon starts): each call first opens it if it is not
// open, and fails as unavailable while it cannot. So the daemon starts
// without its audit store, reports it down, and records catch up when it
// opens.
class DeferredAuditStore final : public AuditStore {
public:
  using Open = std::function<Result<std::unique_ptr<AuditStore>>()>;

  // opened: the backend if the first try opened it, else null.
  DeferredAuditStore(std::string chain, Open open,
                     std::unique_ptr<AuditStore> opened);

private:
  // Returns the backend, opening it if need be.
  Result<AuditStore *> backend();

  Result<Head> do_head() override;
  Result<std::vector<bool>>
  do_recorded(const std::vector<EventKey> &keys) override;
  Result<void> do_append(const std::vector<Record> &records,
                         const std::vector<InstanceMark> &marks) override;
  Result<std::vector<InstanceMark>>
  do_instances(std::int64_t seen_since) override;
  Result<void> do_add_checkpoint(const Checkpoint &checkpoint) override;
  Result<std::vector<Checkpoint>> do_checkpoints(std::uint64_t after_size,
                                                 std::size_t limit) override;
  Result<std::optional<Checkpoint>> do_latest_checkpoint() override;
  Result<std::optional<Record>> do_record(std::uint64_t seq) override;
  Result<std::vector<Record>> do_query(const Query &query) override;
  Result<std::uint64_t> do_end_of_prefix_before(std::int64_t time) override;
  Result<std::optional<Checkpoint>> do_base() override;
  Result<std::uint64_t> do_remove_through(const Checkpoint &base,
                                          std::size_t step) override;
  Result<void> do_write_probe() override;

  Open m_open;
  std::unique_ptr<AuditStore> m_backend;
};

} // namespace dovewarden::audit
