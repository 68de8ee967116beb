#pragma once

#include "audit/AuditStore.hpp"
#include "audit/Chain.hpp"

#include <algorithm>
#include <atomic>
#include <string>
#include <vector>

namespace dovewarden::test {

// The audit store interface over vectors, enough for the admin API and the
// command line; failing makes every call answer an error. A test damages
// the log by changing records() in place, between requests: the store is
// not locked against the server's threads.
class FakeAuditStore : public audit::AuditStore {
public:
  std::atomic<bool> failing = false;

  explicit FakeAuditStore(std::string chain = "test.example/audit")
      : AuditStore(std::move(chain)) {}

  std::vector<audit::Record> &records() { return m_records; }

private:
  Result<audit::Head> do_head() override {
    if (auto down = check(); !down)
      return tl::unexpected(down.error());
    if (m_records.empty())
      return audit::Head{0, audit::k_genesis_hash};
    return audit::Head{m_records.back().seq, m_records.back().hash};
  }
  Result<std::vector<bool>>
  do_recorded(const std::vector<audit::EventKey> &keys) override {
    return std::vector<bool>(keys.size(), false);
  }
  Result<void> do_append(const std::vector<audit::Record> &records,
                         const std::vector<audit::InstanceMark> &) override {
    if (auto down = check(); !down)
      return down;
    m_records.insert(m_records.end(), records.begin(), records.end());
    return {};
  }
  Result<std::vector<audit::InstanceMark>> do_instances(std::int64_t) override {
    return std::vector<audit::InstanceMark>{};
  }
  Result<void> do_add_checkpoint(const audit::Checkpoint &checkpoint) override {
    if (auto down = check(); !down)
      return down;
    m_checkpoints.push_back(checkpoint);
    return {};
  }
  Result<std::vector<audit::Checkpoint>>
  do_checkpoints(std::uint64_t after_size, std::size_t limit) override {
    if (auto down = check(); !down)
      return tl::unexpected(down.error());
    std::vector<audit::Checkpoint> found;
    for (const auto &checkpoint : m_checkpoints)
      if (checkpoint.size > after_size && found.size() < limit)
        found.push_back(checkpoint);
    return found;
  }
  Result<std::optional<audit::Checkpoint>> do_latest_checkpoint() override {
    if (m_checkpoints.empty())
      return std::nullopt;
    return m_checkpoints.back();
  }
  Result<std::optional<audit::Record>> do_record(std::uint64_t seq) override {
    for (const auto &record : m_records)
      if (record.seq == seq)
        return record;
    return std::nullopt;
  }
  Result<std::vector<audit::Record>>
  do_query(const audit::Query &query) override {
    if (auto down = check(); !down)
      return tl::unexpected(down.error());
    std::vector<audit::Record> found;
    // in stored order, as a damaged table would give them
    for (const auto &record : m_records) {
      if (found.size() < query.limit && record.seq > query.after &&
          selects(query, record))
        found.push_back(record);
    }
    return found;
  }
  Result<std::uint64_t> do_last_seq_before(std::int64_t time) override {
    std::uint64_t seq = 0;
    for (const auto &record : m_records)
      if (record.time < time)
        seq = record.seq;
    return seq;
  }
  Result<std::optional<audit::Checkpoint>> do_base() override {
    if (auto down = check(); !down)
      return tl::unexpected(down.error());
    return std::nullopt;
  }
  Result<std::uint64_t> do_remove_through(const audit::Checkpoint &,
                                          std::size_t) override {
    return db::invalid("not in the fake");
  }
  Result<void> do_write_probe() override { return check(); }

  Result<void> check() const {
    if (failing)
      return db::unavailable("fake audit store down");
    return {};
  }

  static bool selects(const audit::Query &query, const audit::Record &record) {
    const auto &type = query.operation;
    const bool type_matches =
        type.empty() ||
        (!type.empty() && type.back() == '*'
             ? record.operation.compare(0, type.size() - 1, type, 0,
                                        type.size() - 1) == 0
             : record.operation == type);
    return type_matches && (query.user.empty() || record.user == query.user) &&
           (!query.since || record.time >= *query.since) &&
           (!query.until || record.time < *query.until) &&
           (query.mailbox.empty() || record.mailbox == query.mailbox) &&
           (query.ip.empty() || record.ip == query.ip) &&
           (query.msgid.empty() || record.msgid == query.msgid);
  }

private:
  std::vector<audit::Record> m_records;
  std::vector<audit::Checkpoint> m_checkpoints;
};

} // namespace dovewarden::test
