#pragma once

#include "audit/AuditStore.hpp"
#include "audit/Chain.hpp"

#include <algorithm>
#include <atomic>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace dovewarden::test {

// An audit store in memory, enough for the writer and retention: records,
// marks, checkpoints and the base. failing makes every call unavailable;
// appends notes the size of each append that succeeded.
class FakeAuditStore : public audit::AuditStore {
public:
  explicit FakeAuditStore(std::string chain = "test/audit")
      : audit::AuditStore(std::move(chain)) {}

  std::atomic<bool> failing = false;

  std::vector<audit::Record> records() const {
    const std::lock_guard lock(m_mutex);
    std::vector<audit::Record> out;
    for (const auto &[seq, record] : m_records)
      out.push_back(record);
    return out;
  }
  std::vector<std::size_t> appends() const {
    const std::lock_guard lock(m_mutex);
    return m_appends;
  }
  std::vector<audit::Checkpoint> all_checkpoints() const {
    const std::lock_guard lock(m_mutex);
    return m_checkpoints;
  }
  std::map<std::string, audit::InstanceMark> marks() const {
    const std::lock_guard lock(m_mutex);
    return m_marks;
  }
  // Lets a test damage the stored records (by seq): edit, remove or
  // renumber them.
  template <typename Change> void tamper(Change change) {
    const std::lock_guard lock(m_mutex);
    change(m_records);
  }
  // Changes a stored record's time, as if it were written then.
  void set_time(std::uint64_t seq, std::int64_t time) {
    const std::lock_guard lock(m_mutex);
    m_records.at(seq).time = time;
  }

private:
  template <typename T> Result<T> down() const {
    return db::unavailable("fake audit store down");
  }

  Result<audit::Head> do_head() override {
    if (failing)
      return down<audit::Head>();
    const std::lock_guard lock(m_mutex);
    if (!m_records.empty())
      return audit::Head{m_records.rbegin()->first,
                         m_records.rbegin()->second.hash};
    if (m_base)
      return audit::Head{m_base->size, m_base->hash};
    return audit::Head{0, audit::k_genesis_hash};
  }
  Result<std::vector<bool>>
  do_recorded(const std::vector<audit::EventKey> &keys) override {
    if (failing)
      return down<std::vector<bool>>();
    const std::lock_guard lock(m_mutex);
    std::vector<bool> out;
    for (const auto &key : keys)
      out.push_back(m_keys.count({key.inst, key.event_seq}) > 0);
    return out;
  }
  Result<void>
  do_append(const std::vector<audit::Record> &records,
            const std::vector<audit::InstanceMark> &marks) override {
    if (failing)
      return down<void>();
    const std::lock_guard lock(m_mutex);
    const auto head = m_records.empty() ? (m_base ? m_base->size : 0)
                                        : m_records.rbegin()->first;
    if (!records.empty() && records.front().seq != head + 1)
      return tl::unexpected(db::StoreFailure{db::StoreFailure::Kind::conflict,
                                             "fake: seq taken"});
    for (const auto &record : records) {
      if (!record.inst.empty() &&
          m_keys.count({record.inst, record.event_seq}) > 0)
        return tl::unexpected(db::StoreFailure{db::StoreFailure::Kind::conflict,
                                               "fake: event recorded"});
    }
    for (const auto &record : records) {
      m_records[record.seq] = record;
      if (!record.inst.empty())
        m_keys.emplace(record.inst, record.event_seq);
    }
    for (const auto &mark : marks)
      m_marks[mark.inst] = mark;
    if (!records.empty())
      m_appends.push_back(records.size());
    return {};
  }
  Result<std::vector<audit::InstanceMark>>
  do_instances(std::int64_t seen_since) override {
    if (failing)
      return down<std::vector<audit::InstanceMark>>();
    const std::lock_guard lock(m_mutex);
    std::vector<audit::InstanceMark> out;
    for (const auto &[inst, mark] : m_marks)
      if (mark.seen >= seen_since)
        out.push_back(mark);
    return out;
  }
  Result<void> do_add_checkpoint(const audit::Checkpoint &checkpoint) override {
    if (failing)
      return down<void>();
    const std::lock_guard lock(m_mutex);
    m_checkpoints.push_back(checkpoint);
    return {};
  }
  Result<std::vector<audit::Checkpoint>>
  do_checkpoints(std::uint64_t after_size, std::size_t limit) override {
    if (failing)
      return down<std::vector<audit::Checkpoint>>();
    const std::lock_guard lock(m_mutex);
    std::vector<audit::Checkpoint> out;
    for (const auto &checkpoint : m_checkpoints)
      if (checkpoint.size > after_size && out.size() < limit)
        out.push_back(checkpoint);
    return out;
  }
  Result<std::optional<audit::Checkpoint>> do_latest_checkpoint() override {
    if (failing)
      return down<std::optional<audit::Checkpoint>>();
    const std::lock_guard lock(m_mutex);
    if (m_checkpoints.empty())
      return std::optional<audit::Checkpoint>{};
    return std::optional<audit::Checkpoint>{m_checkpoints.back()};
  }
  Result<std::optional<audit::Record>> do_record(std::uint64_t seq) override {
    if (failing)
      return down<std::optional<audit::Record>>();
    const std::lock_guard lock(m_mutex);
    const auto it = m_records.find(seq);
    if (it == m_records.end())
      return std::optional<audit::Record>{};
    return std::optional<audit::Record>{it->second};
  }
  Result<std::vector<audit::Record>>
  do_query(const audit::Query &query) override {
    if (failing)
      return down<std::vector<audit::Record>>();
    const std::lock_guard lock(m_mutex);
    std::vector<audit::Record> out;
    for (auto it = m_records.upper_bound(query.after);
         it != m_records.end() && out.size() < query.limit; ++it)
      out.push_back(it->second);
    return out;
  }
  Result<std::uint64_t> do_end_of_prefix_before(std::int64_t time) override {
    if (failing)
      return down<std::uint64_t>();
    const std::lock_guard lock(m_mutex);
    for (const auto &[seq, record] : m_records)
      if (record.time >= time)
        return seq - 1;
    return m_records.empty() ? 0 : m_records.rbegin()->first;
  }
  Result<std::optional<audit::Checkpoint>> do_base() override {
    if (failing)
      return down<std::optional<audit::Checkpoint>>();
    const std::lock_guard lock(m_mutex);
    return m_base;
  }
  Result<std::uint64_t> do_remove_through(const audit::Checkpoint &base,
                                          std::size_t) override {
    if (failing)
      return down<std::uint64_t>();
    const std::lock_guard lock(m_mutex);
    m_base = base;
    std::uint64_t removed = 0;
    while (!m_records.empty() && m_records.begin()->first <= base.size) {
      m_records.erase(m_records.begin());
      ++removed;
    }
    return removed;
  }
  Result<void> do_write_probe() override {
    if (failing)
      return down<void>();
    return {};
  }

  mutable std::mutex m_mutex;
  std::map<std::uint64_t, audit::Record> m_records;
  std::set<std::pair<std::string, std::uint64_t>> m_keys;
  std::map<std::string, audit::InstanceMark> m_marks;
  std::vector<audit::Checkpoint> m_checkpoints;
  std::optional<audit::Checkpoint> m_base;
  std::vector<std::size_t> m_appends;
};

} // namespace dovewarden::test
