#pragma once

#include "audit/AuditStore.hpp"
#include "audit/Record.hpp"
#include "audit/Sign.hpp"
#include "bus/Subscriber.hpp"
#include "filter/TypeFilter.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace dovewarden::audit {

class AuditMetrics;

// The bus subscriber that turns the events the audit selection picks into
// records of one chain (docs/audit.md). It sees every plugin event (filter()),
// so that it can tell from each process's seq what it never received: a gap
// becomes an events.lost record of its own.
//
// - Group commit: records wait until batch_max of them are ready or the
//   next flush() (every batch_interval, and whenever the queue runs empty).
// - Idempotent on (inst, event_seq): what the store has already, or the
//   same batch holds twice, is not recorded again.
// - Marks: the last seq seen from each process instance is stored with the
//   records, so that the writer of the next start finds what a crash lost.
// - A store that fails keeps the records waiting, up to max_pending; the
//   oldest beyond it are dropped and recorded as a gap once it returns.
//   Tries go at the pace of the store's write probe (StoreHealth).
// - Checkpoints: after checkpoint_records records, or checkpoint_interval
//   after the last if the head moved.
// All calls come from the bus worker, one at a time.
class AuditWriter : public bus::Subscriber {
public:
  struct Options {
    std::string selection = "*"; // type globs of the events recorded
    std::size_t batch_max = 1000;
    std::chrono::milliseconds batch_interval{200};
    std::uint64_t checkpoint_records = 10000;
    std::chrono::milliseconds checkpoint_interval{60000};
    std::size_t max_pending = 100000;
    // marks older than this are neither loaded nor kept
    std::chrono::hours marks_window{24 * 7};
    std::size_t max_marks = 65536;
  };

  // Throws std::invalid_argument if the selection does not parse.
  AuditWriter(AuditStore &store, Sign sign, AuditMetrics &metrics,
              Options options);

  // Returns what the writer's subscription passes: the events the
  // selection picks, and every plugin event (inst and seq), whose seq
  // shows what the writer did not receive.
  std::unique_ptr<filter::EventFilter> filter() const;

  std::string name() const override { return "audit"; }
  void handle(const core::Event &event) override;
  std::chrono::milliseconds flush_interval() const override {
    return m_options.batch_interval;
  }
  bool flush_when_idle() const override { return true; }
  void flush() override;

  // Returns how many records wait to be written.
  std::size_t pending() const { return m_pending.size(); }

private:
  // A process instance's mark, and the first seq this writer saw of it.
  struct Mark {
    InstanceMark mark;
    std::uint64_t first_seq = 0;
    bool dirty = false; // changed since the store last had it
  };
  // A record waiting, with the mark of its instance as of it, if any.
  struct Pending {
    Record record;
    std::optional<InstanceMark> mark;
  };
  // What was dropped of one instance while the store was away.
  struct Dropped {
    InstanceMark mark;
    std::uint64_t from = 0;
    std::uint64_t to = 0;
    std::uint64_t records = 0;
  };

  bool load();
  bool load_marks();
  void observe(const core::Event &event, const std::string &inst,
               std::uint64_t seq);
  void lost_recorded(const core::Event &event);
  void add(Pending pending);
  void add_gap(const InstanceMark &mark, std::uint64_t from, std::uint64_t to,
               const std::string &reason, bool front);
  void drop_oldest();
  void add_dropped_gaps();
  // Writes full batches, or everything if all; returns false on failure.
  bool write(bool all);
  bool write_batch(std::size_t count);
  std::vector<InstanceMark> batch_marks(std::size_t count, bool last) const;
  db::Result<std::vector<Record>> link_new(std::size_t count, Head &head);
  void give_up(std::size_t count);
  bool checkpoint();
  void prune_marks();

  AuditStore &m_store;
  Sign m_sign;
  AuditMetrics &m_metrics;
  Options m_options;
  std::shared_ptr<const filter::TypeFilter> m_selection;

  bool m_loaded = false;       // the head and the last checkpoint
  bool m_marks_loaded = false; // the marks the last run stored
  Head m_head;
  std::deque<Pending> m_pending;
  std::unordered_map<std::string, Mark> m_marks;
  std::map<std::string, Dropped> m_dropped; // by inst
  std::uint64_t m_dropped_other = 0;        // records of no instance
  int m_refusals = 0;                       // writes the store refused in a row
  std::uint64_t m_checkpointed = 0;         // the size of the last checkpoint
  std::int64_t m_checkpoint_time = 0;
  std::chrono::steady_clock::time_point m_last_prune;
};

} // namespace dovewarden::audit
