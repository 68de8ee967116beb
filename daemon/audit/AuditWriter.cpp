#include "audit/AuditWriter.hpp"

#include "audit/AuditMetrics.hpp"
#include "audit/Chain.hpp"
#include "audit/RecordMapping.hpp"
#include "core/EventJson.hpp"
#include "util/Logger.hpp"
#include "util/Time.hpp"

#include <algorithm>
#include <set>
#include <stdexcept>
#include <utility>

namespace dovewarden::audit {

namespace {

using Micros = std::chrono::microseconds;

constexpr const char *k_not_received = "not received by the audit log";
constexpr const char *k_not_kept = "not kept while the audit store failed";
// refusals in a row (not an outage) after which a batch is given up
constexpr int k_max_refusals = 3;
constexpr auto k_prune_interval = std::chrono::minutes(1);

std::shared_ptr<const filter::TypeFilter>
parse_selection(const std::string &globs) {
  auto parsed = filter::TypeFilter::parse(globs);
  if (!parsed)
    throw std::invalid_argument("audit selection: " + parsed.error());
  return std::make_shared<const filter::TypeFilter>(std::move(*parsed));
}

bool from_daemon(const core::Event &event) { return event.source == "daemon"; }

// the seq of an event from a plugin's process (one with an inst and a seq)
std::optional<std::uint64_t> plugin_process_seq(const core::Event &event) {
  if (from_daemon(event) || event.message.str("inst").empty())
    return std::nullopt;
  return event_seq(event);
}

// Passes what the selection picks and every plugin event: an event that
// concerns neither (event_exporter's) is nobody's business here.
class AuditFilter : public filter::EventFilter {
public:
  explicit AuditFilter(std::shared_ptr<const filter::TypeFilter> selection)
      : m_selection(std::move(selection)) {}

  bool matches(const core::Event &event) const override {
    return m_selection->matches(event) || plugin_process_seq(event).has_value();
  }
  std::string describe() const override {
    return "(" + m_selection->describe() + ") OR a plugin event";
  }

private:
  std::shared_ptr<const filter::TypeFilter> m_selection;
};

// a record made by the writer itself: a gap
Record daemon_record(std::string operation, std::string user,
                     std::string outcome, const core::Json &details) {
  Record record;
  record.time = util::unix_micros();
  record.operation = std::move(operation);
  record.user = std::move(user);
  record.actor = "daemon";
  record.service = "dovewardend";
  record.outcome = std::move(outcome);
  record.details = core::dump(details);
  return record;
}

} // namespace

AuditWriter::AuditWriter(AuditStore &store, Sign sign, AuditMetrics &metrics,
                         Options options)
    : m_store(store), m_sign(std::move(sign)), m_metrics(metrics),
      m_options(std::move(options)),
      m_selection(parse_selection(m_options.selection)),
      m_checkpoint_time(util::unix_micros()),
      m_last_prune(std::chrono::steady_clock::now()) {
  load();
}

bool AuditWriter::load() {
  if (m_loaded)
    return true;
  auto head = m_store.head();
  if (!head)
    return false;
  auto latest = m_store.latest_checkpoint();
  if (!latest)
    return false;
  if (!m_marks_loaded && !load_marks())
    return false;
  m_head = std::move(*head);
  m_metrics.head(m_head.seq);
  if (*latest) {
    m_checkpointed = (*latest)->size;
    m_checkpoint_time = (*latest)->time;
  }
  m_loaded = true;
  return true;
}

// Takes the marks the last run stored. Of the instances seen before the
// store answered, they tell what came in between.
bool AuditWriter::load_marks() {
  const auto window =
      std::chrono::duration_cast<Micros>(m_options.marks_window);
  auto marks = m_store.instances(util::unix_micros() - window.count());
  if (!marks)
    return false;
  for (auto &stored : *marks) {
    auto it = m_marks.find(stored.inst);
    if (it == m_marks.end()) {
      const auto inst = stored.inst;
      m_marks.emplace(inst, Mark{std::move(stored), 0, false});
      continue;
    }
    auto &mark = it->second;
    if (mark.first_seq > stored.last_seq + 1)
      add_gap(mark.mark, stored.last_seq + 1, mark.first_seq - 1,
              k_not_received, true);
    mark.mark.last_seq = std::max(mark.mark.last_seq, stored.last_seq);
  }
  m_marks_loaded = true;
  return true;
}

std::unique_ptr<filter::EventFilter> AuditWriter::filter() const {
  return std::make_unique<AuditFilter>(m_selection);
}

void AuditWriter::handle(const core::Event &event) {
  const auto selected = m_selection->matches(event);
  if (const auto seq = plugin_process_seq(event)) {
    observe(event, std::string(event.message.str("inst")), *seq);
  } else if (from_daemon(event) && selected && event.type() == "events.lost") {
    lost_recorded(event);
    return;
  }
  if (!selected)
    return;
  Pending pending{to_record(event), std::nullopt};
  if (!pending.record.inst.empty())
    pending.mark = m_marks.at(pending.record.inst).mark;
  add(std::move(pending));
  if (m_pending.size() >= m_options.batch_max)
    write(false);
}

void AuditWriter::observe(const core::Event &event, const std::string &inst,
                          std::uint64_t seq) {
  const auto &message = event.message;
  auto [it, added] = m_marks.try_emplace(inst);
  auto &mark = it->second;
  if (added) {
    mark.mark.inst = inst;
    mark.first_seq = seq;
  } else if (seq > mark.mark.last_seq + 1 && mark.mark.last_seq != 0) {
    add_gap(mark.mark, mark.mark.last_seq + 1, seq - 1, k_not_received, false);
  }
  mark.mark.last_seq = std::max(mark.mark.last_seq, seq);
  mark.mark.pid = message.integer("pid", mark.mark.pid);
  if (const auto svc = message.str("svc"); !svc.empty())
    mark.mark.service = std::string(svc);
  if (const auto user = message.str("user"); !user.empty())
    mark.mark.user = std::string(user);
  mark.mark.seen = util::unix_micros();
  mark.dirty = true;
}

// An events.lost from the pipeline is recorded as it is; its range is then
// accounted for, and the writer does not record it a second time.
void AuditWriter::lost_recorded(const core::Event &event) {
  Pending pending{to_record(event), std::nullopt};
  const auto inst = std::string(event.message.str("inst"));
  const auto next_seq =
      core::unsigned_field(event.message, "next_seq").value_or(0);
  if (!inst.empty() && next_seq > 0) {
    auto [it, added] = m_marks.try_emplace(inst);
    auto &mark = it->second;
    if (added) {
      mark.mark.inst = inst;
      mark.first_seq =
          core::unsigned_field(event.message, "after_seq").value_or(0) + 1;
      mark.mark.pid = event.message.integer("pid");
      mark.mark.service = std::string(event.message.str("svc"));
    }
    mark.mark.last_seq = std::max(mark.mark.last_seq, next_seq - 1);
    mark.mark.seen = util::unix_micros();
    mark.dirty = true;
    pending.mark = mark.mark;
  }
  add(std::move(pending));
}

void AuditWriter::add(Pending pending) {
  m_pending.push_back(std::move(pending));
  while (m_pending.size() > m_options.max_pending)
    drop_oldest();
}

void AuditWriter::add_gap(const InstanceMark &mark, std::uint64_t from,
                          std::uint64_t to, const std::string &reason,
                          bool front) {
  core::Json details{
      {"inst", mark.inst}, {"pid", mark.pid}, {"svc", mark.service},
      {"from", from},      {"to", to},        {"reason", reason}};
  Pending gap{daemon_record("events.lost", mark.user, "lost", details), mark};
  gap.mark->last_seq = to;
  m_metrics.gaps.Increment();
  LOG_WARN("audit: events ", from, " to ", to, " of ", mark.service, " pid ",
           mark.pid, " inst ", mark.inst, " were ", reason);
  if (front) {
    m_pending.push_front(std::move(gap));
    while (m_pending.size() > m_options.max_pending)
      drop_oldest();
  } else {
    add(std::move(gap));
  }
}

// Drops the oldest record waiting, remembering what it was for the gap
// record made once the store takes records again.
void AuditWriter::drop_oldest() {
  auto oldest = std::move(m_pending.front());
  m_pending.pop_front();
  const auto &record = oldest.record;
  if (record.inst.empty() || !oldest.mark) {
    ++m_dropped_other;
    return;
  }
  auto [it, added] = m_dropped.try_emplace(record.inst);
  auto &dropped = it->second;
  if (added)
    dropped.from = record.event_seq;
  dropped.mark = *oldest.mark;
  dropped.from = std::min(dropped.from, record.event_seq);
  dropped.to = std::max(dropped.to, record.event_seq);
  ++dropped.records;
}

void AuditWriter::add_dropped_gaps() {
  if (m_dropped_other > 0) {
    core::Json details{{"records", m_dropped_other}, {"reason", k_not_kept}};
    m_pending.push_front(
        {daemon_record("events.lost", "", "lost", details), std::nullopt});
    m_metrics.gaps.Increment();
    LOG_WARN("audit: ", m_dropped_other, " daemon records were ", k_not_kept);
    m_dropped_other = 0;
  }
  for (auto &[inst, dropped] : m_dropped) {
    core::Json details{{"inst", inst},
                       {"pid", dropped.mark.pid},
                       {"svc", dropped.mark.service},
                       {"from", dropped.from},
                       {"to", dropped.to},
                       {"records", dropped.records},
                       {"reason", k_not_kept}};
    Pending gap{
        daemon_record("events.lost", dropped.mark.user, "lost", details),
        dropped.mark};
    gap.mark->last_seq = dropped.to;
    m_pending.push_front(std::move(gap));
    m_metrics.gaps.Increment();
  }
  m_dropped.clear();
}

void AuditWriter::flush() {
  if (!m_store.writable() && !m_store.check())
    return;
  if (!load())
    return;
  add_dropped_gaps();
  if (!write(true))
    return;
  const auto now = util::unix_micros();
  const auto interval =
      std::chrono::duration_cast<Micros>(m_options.checkpoint_interval);
  if (m_head.seq > m_checkpointed &&
      now - m_checkpoint_time >= interval.count())
    checkpoint();
  m_metrics.checkpoint_age(
      static_cast<double>(util::unix_micros() - m_checkpoint_time) / 1e6);
  prune_marks();
}

bool AuditWriter::write(bool all) {
  if (!m_loaded || (!m_store.writable() && !m_store.check()))
    return false;
  while (m_pending.size() >= m_options.batch_max ||
         (all && !m_pending.empty())) {
    if (!write_batch(std::min(m_pending.size(), m_options.batch_max)))
      return false;
  }
  const auto dirty = std::any_of(m_marks.begin(), m_marks.end(),
                                 [](const auto &m) { return m.second.dirty; });
  if (all && dirty)
    return write_batch(0);
  return true;
}

// Returns the marks as of the last of the first count records waiting (all
// the marks if last).
std::vector<InstanceMark> AuditWriter::batch_marks(std::size_t count,
                                                   bool last) const {
  std::map<std::string, InstanceMark> marks;
  for (std::size_t i = 0; i < count; ++i) {
    const auto &pending = m_pending[i];
    if (pending.mark)
      marks[pending.mark->inst] = *pending.mark;
  }
  if (last) {
    for (const auto &[inst, mark] : m_marks) {
      if (mark.dirty)
        marks[inst] = mark.mark;
    }
  }
  std::vector<InstanceMark> list;
  list.reserve(marks.size());
  for (auto &[inst, mark] : marks)
    list.push_back(std::move(mark));
  return list;
}

// Returns the first count records waiting that are not on record yet (nor
// earlier in the batch), linked after head, which moves to the last.
db::Result<std::vector<Record>> AuditWriter::link_new(std::size_t count,
                                                      Head &head) {
  std::vector<EventKey> keys;
  for (std::size_t i = 0; i < count; ++i) {
    const auto &record = m_pending[i].record;
    if (!record.inst.empty())
      keys.push_back({record.inst, record.event_seq});
  }
  const auto recorded = m_store.recorded(keys);
  if (!recorded)
    return tl::unexpected(recorded.error());
  std::vector<Record> records;
  records.reserve(count);
  std::set<std::pair<std::string, std::uint64_t>> seen;
  std::size_t key = 0;
  for (std::size_t i = 0; i < count; ++i) {
    const auto &record = m_pending[i].record;
    if (!record.inst.empty()) {
      const bool had = (*recorded)[key++];
      if (had || !seen.emplace(record.inst, record.event_seq).second)
        continue;
    }
    records.push_back(record);
    link(records.back(), head.seq, head.hash);
    head = {records.back().seq, records.back().hash};
  }
  return records;
}

// Writes the first count records waiting, with the marks as of the last of
// them (all the marks if it is the last).
bool AuditWriter::write_batch(std::size_t count) {
  const auto last = count == m_pending.size();
  auto head = m_head;
  const auto records = link_new(count, head);
  if (!records)
    return false;
  const auto mark_list = batch_marks(count, last);

  const auto started = std::chrono::steady_clock::now();
  const auto appended = m_store.append(*records, mark_list);
  if (!appended) {
    const auto &failure = appended.error();
    if (failure.kind == db::StoreFailure::Kind::unavailable)
      return false;
    LOG_ERROR("audit: the store refused ", records->size(),
              " records: ", failure);
    // the head may have moved under the writer: read it again
    m_loaded = false;
    if (++m_refusals >= k_max_refusals)
      give_up(count);
    return false;
  }
  m_refusals = 0;
  const std::chrono::duration<double> took =
      std::chrono::steady_clock::now() - started;
  m_head = head;
  m_pending.erase(m_pending.begin(),
                  m_pending.begin() + static_cast<std::ptrdiff_t>(count));
  if (last) {
    for (auto &[inst, mark] : m_marks)
      mark.dirty = false;
  }
  if (!records->empty())
    m_metrics.written(records->size(), took.count(), m_head.seq);
  if (m_head.seq - m_checkpointed >= m_options.checkpoint_records)
    checkpoint();
  return true;
}

// Gives up the first count records, which the store keeps refusing: they
// become a gap record, so that the loss is on the record.
void AuditWriter::give_up(std::size_t count) {
  for (std::size_t i = 0; i < count; ++i)
    drop_oldest();
  m_refusals = 0;
}

bool AuditWriter::checkpoint() {
  if (m_head.seq == 0 || m_head.seq == m_checkpointed)
    return true;
  const auto time = util::unix_micros();
  const auto signed_checkpoint = m_sign(m_head.seq, m_head.hash, time);
  if (!m_store.add_checkpoint(signed_checkpoint))
    return false;
  m_checkpointed = m_head.seq;
  m_checkpoint_time = time;
  return true;
}

// Forgets the instances not heard from within the window, and the oldest
// beyond max_marks: their processes are gone.
void AuditWriter::prune_marks() {
  const auto now = std::chrono::steady_clock::now();
  if (m_marks.size() <= m_options.max_marks &&
      now - m_last_prune < k_prune_interval)
    return;
  m_last_prune = now;
  const auto window =
      std::chrono::duration_cast<Micros>(m_options.marks_window);
  auto oldest = util::unix_micros() - window.count();
  if (m_marks.size() > m_options.max_marks) {
    std::vector<std::int64_t> seen;
    seen.reserve(m_marks.size());
    for (const auto &[inst, mark] : m_marks)
      seen.push_back(mark.mark.seen);
    const auto cut = seen.begin() + static_cast<std::ptrdiff_t>(
                                        m_marks.size() - m_options.max_marks);
    std::nth_element(seen.begin(), cut, seen.end());
    oldest = std::max(oldest, *cut);
  }
  for (auto it = m_marks.begin(); it != m_marks.end();) {
    if (!it->second.dirty && it->second.mark.seen < oldest)
      it = m_marks.erase(it);
    else
      ++it;
  }
}

} // namespace dovewarden::audit
