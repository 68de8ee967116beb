#pragma once

#include "store/ReplicationStore.hpp"
#include "util/Glob.hpp"

#include <atomic>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace dovewarden::test {

// The replication store interface over a map, enough for the admin API;
// failing makes every call answer an error.
class FakeReplicationStore : public store::ReplicationStore {
public:
  std::atomic<bool> failing = false;

  // What the test sets and reads goes through the mutex too: the admin
  // server calls the store on its own threads.
  void set_queue_status(const store::QueueStatus &status) {
    std::lock_guard lock(m_mutex);
    m_queue_status = status;
  }

  std::string describe() const override { return "fake"; }
  Result<void> do_ping() override { return check(); }

  Result<void>
  do_enqueue(const std::vector<store::SyncRequest> &requests) override {
    std::lock_guard lock(m_mutex);
    if (failing)
      return db::unavailable("fake store down");
    for (const auto &request : requests) {
      auto &record = m_records[request.user];
      record.user = request.user;
      if (!record.queued || request.priority > record.priority)
        record.priority = request.priority;
      if (!record.queued || request.requested < record.requested)
        record.requested = request.requested;
      record.queued = true;
      record.full_requested = record.full_requested || request.full;
    }
    return {};
  }
  Result<std::optional<store::Claim>>
  do_claim(const std::string &, store::TimePoint,
           std::chrono::milliseconds) override {
    return unsupported();
  }
  Result<bool> do_renew(const store::Claim &, const std::string &,
                        store::TimePoint, std::chrono::milliseconds) override {
    return unsupported();
  }
  Result<void> do_succeed(const store::Claim &, const std::string &,
                          const std::string &, bool,
                          store::TimePoint) override {
    return unsupported();
  }
  Result<void> do_fail(const store::Claim &, const std::string &,
                       const std::string &, store::TimePoint,
                       store::TimePoint) override {
    return unsupported();
  }
  Result<void> do_release(const store::Claim &, const std::string &) override {
    return unsupported();
  }
  Result<bool> do_remove(const std::string &user) override {
    std::lock_guard lock(m_mutex);
    if (failing)
      return db::unavailable("fake store down");
    return m_records.erase(user) > 0;
  }
  Result<std::vector<std::string>> do_lease_owners() override {
    return unsupported();
  }
  Result<std::size_t> do_release_owner(const std::string &) override {
    return unsupported();
  }
  Result<std::vector<store::UserRecord>>
  do_users(std::string_view mask) override {
    std::lock_guard lock(m_mutex);
    if (failing)
      return db::unavailable("fake store down");
    std::vector<store::UserRecord> found;
    for (const auto &[user, record] : m_records) {
      if (util::glob_match(mask, user))
        found.push_back(record);
    }
    return found;
  }
  Result<store::QueueStatus> do_status(store::TimePoint) override {
    std::lock_guard lock(m_mutex);
    if (failing)
      return db::unavailable("fake store down");
    return m_queue_status;
  }

  void add(const std::string &user) {
    std::lock_guard lock(m_mutex);
    m_records[user].user = user;
  }
  void put(const store::UserRecord &record) {
    std::lock_guard lock(m_mutex);
    m_records[record.user] = record;
  }
  std::size_t size() {
    std::lock_guard lock(m_mutex);
    return m_records.size();
  }
  std::optional<store::UserRecord> find(const std::string &user) {
    std::lock_guard lock(m_mutex);
    const auto it = m_records.find(user);
    if (it == m_records.end())
      return std::nullopt;
    return it->second;
  }

private:
  std::mutex m_mutex;
  std::map<std::string, store::UserRecord> m_records;
  store::QueueStatus m_queue_status;

  Result<void> check() {
    if (failing)
      return db::unavailable("fake store down");
    return {};
  }
  static tl::unexpected<db::StoreFailure> unsupported() {
    return db::unavailable("not in the fake");
  }
};

} // namespace dovewarden::test
