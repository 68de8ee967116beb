#include "store/ReplicationStore.hpp"

namespace dovewarden::store {

namespace {

tl::unexpected<db::StoreFailure> empty_owner(const char *call) {
  return db::invalid(std::string(call) + ": empty owner");
}

} // namespace

ReplicationStore::Result<void> ReplicationStore::ping() {
  const std::lock_guard lock(m_mutex);
  return m_health.watch(do_ping());
}

bool ReplicationStore::check() {
  return m_health.check([this]() -> Result<void> {
    const std::lock_guard lock(m_mutex);
    return do_probe();
  });
}

ReplicationStore::Result<void> ReplicationStore::do_probe() {
  return do_ping();
}

ReplicationStore::Result<void>
ReplicationStore::enqueue(const std::vector<SyncRequest> &requests) {
  if (requests.empty())
    return {};
  const std::lock_guard lock(m_mutex);
  return m_health.watch(do_enqueue(requests));
}

ReplicationStore::Result<std::optional<Claim>>
ReplicationStore::claim(const std::string &owner, TimePoint now,
                        std::chrono::milliseconds lease) {
  if (owner.empty())
    return empty_owner("claim");
  const std::lock_guard lock(m_mutex);
  return m_health.watch(do_claim(owner, now, lease));
}

ReplicationStore::Result<bool>
ReplicationStore::renew(const Claim &claim, const std::string &owner,
                        TimePoint now, std::chrono::milliseconds lease) {
  if (owner.empty())
    return false; // nobody holds a lease without an owner
  const std::lock_guard lock(m_mutex);
  return m_health.watch(do_renew(claim, owner, now, lease));
}

ReplicationStore::Result<void>
ReplicationStore::succeed(const Claim &claim, const std::string &owner,
                          const std::string &new_state, bool was_full,
                          TimePoint now) {
  if (owner.empty())
    return empty_owner("succeed");
  const std::lock_guard lock(m_mutex);
  return m_health.watch(do_succeed(claim, owner, new_state, was_full, now));
}

ReplicationStore::Result<void> ReplicationStore::fail(const Claim &claim,
                                                      const std::string &owner,
                                                      const std::string &error,
                                                      TimePoint now,
                                                      TimePoint retry_at) {
  if (owner.empty())
    return empty_owner("fail");
  const std::lock_guard lock(m_mutex);
  return m_health.watch(do_fail(claim, owner, error, now, retry_at));
}

ReplicationStore::Result<void>
ReplicationStore::release(const Claim &claim, const std::string &owner) {
  if (owner.empty())
    return empty_owner("release");
  const std::lock_guard lock(m_mutex);
  return m_health.watch(do_release(claim, owner));
}

ReplicationStore::Result<bool>
ReplicationStore::remove(const std::string &user) {
  const std::lock_guard lock(m_mutex);
  return m_health.watch(do_remove(user));
}

ReplicationStore::Result<std::vector<std::string>>
ReplicationStore::lease_owners() {
  const std::lock_guard lock(m_mutex);
  return m_health.watch(do_lease_owners());
}

ReplicationStore::Result<std::size_t>
ReplicationStore::release_owner(const std::string &owner) {
  if (owner.empty())
    return 0; // nobody holds a lease without an owner
  const std::lock_guard lock(m_mutex);
  return m_health.watch(do_release_owner(owner));
}

ReplicationStore::Result<std::vector<UserRecord>>
ReplicationStore::users(std::string_view mask) {
  const std::lock_guard lock(m_mutex);
  return m_health.watch(do_users(mask));
}

ReplicationStore::Result<QueueStatus> ReplicationStore::status(TimePoint now) {
  const std::lock_guard lock(m_mutex);
  return m_health.watch(do_status(now));
}

} // namespace dovewarden::store
