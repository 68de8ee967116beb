#include "audit/Verifier.hpp"

#include "audit/Chain.hpp"

#include <algorithm>
#include <utility>

namespace dovewarden::audit {

namespace {

using Damage = VerifyReport::Damage;

constexpr std::size_t k_page_size = 1000;
// how many records past a break verify reads to find the record that
// belongs there, moved elsewhere
constexpr std::uint64_t k_look_ahead = 100000;
// how many later numbers a record that lost its own is tried with
constexpr std::uint64_t k_renumber_window = 10000;

std::string number(std::uint64_t value) { return std::to_string(value); }

// "record 17" or "records 17 to 19"
std::string records_text(std::uint64_t first, std::uint64_t last) {
  return first == last ? "record " + number(first)
                       : "records " + number(first) + " to " + number(last);
}

// Returns whether record's hash is the one it had when written as seq.
bool hashed_as(const std::string &prev_hash, Record record, std::uint64_t seq) {
  record.seq = seq;
  return record_hash(prev_hash, record) == record.hash;
}

class Walk {
public:
  Walk(const VerifyInput &input, const std::optional<CheckpointVerifier> &key)
      : m_input(input), m_key(key) {
    for (const auto &checkpoint : input.checkpoints)
      m_checkpoints.push_back(&checkpoint);
    std::stable_sort(m_checkpoints.begin(), m_checkpoints.end(),
                     [](const Checkpoint *a, const Checkpoint *b) {
                       return a->size < b->size;
                     });
  }

  VerifyReport run();

private:
  std::optional<std::string> note_problem(const Checkpoint &checkpoint) const;
  std::optional<VerifyReport> check_checkpoints_through(std::uint64_t size);
  std::optional<VerifyReport> check_record(const Record &record);
  VerifyReport classify_gap(const Record &record);
  VerifyReport classify_break(const Record &record);
  VerifyReport finish();

  tl::expected<std::optional<std::uint64_t>, std::string> find_moved() const;
  std::optional<std::uint64_t> renumbered_from(const Record &record) const;

  VerifyReport found(Damage damage, std::uint64_t seq, std::string message);
  VerifyReport unreadable(const std::string &error);
  VerifyReport reordered(std::uint64_t moved_to);
  std::string link_text(std::uint64_t to) const;

  const VerifyInput &m_input;
  const std::optional<CheckpointVerifier> &m_key;
  std::vector<const Checkpoint *> m_checkpoints; // smallest size first
  std::size_t m_next_checkpoint = 0;
  std::uint64_t m_start = 0; // the base's size
  std::uint64_t m_last = 0;  // the last record found intact, or m_start
  std::string m_head;        // its hash
  VerifyReport m_report;
};

VerifyReport Walk::run() {
  m_head = k_genesis_hash;
  if (const auto &base = m_input.base) {
    if (auto problem = note_problem(*base))
      return found(Damage::bad_checkpoint, base->size,
                   "the retention base, a checkpoint at " + number(base->size) +
                       " records, is not valid: " + *problem);
    m_start = m_last = base->size;
    m_head = base->hash;
  }
  if (auto bad = check_checkpoints_through(m_last))
    return *bad;
  for (;;) {
    auto page = m_input.pages(m_last, k_page_size);
    if (!page)
      return unreadable(page.error());
    if (page->empty())
      return finish();
    for (const auto &record : *page) {
      if (auto bad = check_record(record))
        return *bad;
      m_last = record.seq;
      m_head = record.hash;
      ++m_report.records;
      if (auto bad = check_checkpoints_through(m_last))
        return *bad;
    }
  }
}

// Returns why a checkpoint's note does not state what the checkpoint says,
// or is not of this log, or (with a key) is not signed by it.
std::optional<std::string>
Walk::note_problem(const Checkpoint &checkpoint) const {
  Checkpoint stated = checkpoint;
  if (m_key) {
    auto opened = m_key->open(checkpoint.note);
    if (!opened)
      return opened.error();
    stated = std::move(*opened);
  } else if (checkpoint.note.rfind(checkpoint.body(), 0) != 0) {
    return "its note does not state its origin, size and hash";
  }
  if (stated.origin != checkpoint.origin || stated.size != checkpoint.size ||
      stated.hash != checkpoint.hash)
    return "its note does not state its origin, size and hash";
  if (stated.origin != m_input.origin)
    return "it is a checkpoint of another log, " + stated.origin;
  return std::nullopt;
}

// Checks the checkpoints up to size, which the walk has reached: m_last.
std::optional<VerifyReport>
Walk::check_checkpoints_through(std::uint64_t size) {
  for (; m_next_checkpoint < m_checkpoints.size() &&
         m_checkpoints[m_next_checkpoint]->size <= size;
       ++m_next_checkpoint) {
    const auto &checkpoint = *m_checkpoints[m_next_checkpoint];
    const auto at = "the checkpoint at " + number(checkpoint.size) + " records";
    if (auto problem = note_problem(checkpoint))
      return found(Damage::bad_checkpoint, checkpoint.size,
                   at + " is not valid: " + *problem);
    // the records before the retention base are gone: only the signature
    // of an older checkpoint can be checked
    if (checkpoint.size == m_last && checkpoint.hash != m_head)
      return found(Damage::bad_checkpoint, checkpoint.size,
                   at + " does not match " +
                       (m_last == m_start && m_input.base
                            ? std::string("the retention base")
                            : "record " + number(m_last)) +
                       ": the log before it was rewritten after it was signed");
    ++m_report.checkpoints;
  }
  return std::nullopt;
}

std::optional<VerifyReport> Walk::check_record(const Record &record) {
  const auto expected = m_last + 1;
  if (record.seq < expected)
    return found(Damage::reordered, record.seq,
                 "records were reordered: record " + number(record.seq) +
                     " comes again after record " + number(m_last));
  if (record.seq > expected)
    return classify_gap(record);
  if (record.prev_hash == m_head &&
      record_hash(record.prev_hash, record) == record.hash)
    return std::nullopt;
  return classify_break(record);
}

// Numbers are missing before record: deleted, unless the record that
// belongs next was given another number.
VerifyReport Walk::classify_gap(const Record &record) {
  const auto moved = find_moved();
  if (!moved)
    return unreadable(moved.error());
  if (*moved)
    return reordered(**moved);
  const auto first = m_last + 1;
  const auto last = record.seq - 1;
  return found(Damage::deleted, first,
               records_text(first, last) +
                   (first == last ? " was deleted: " : " were deleted: ") +
                   link_text(record.seq));
}

// The record has the next number but does not belong there.
VerifyReport Walk::classify_break(const Record &record) {
  const auto seq = record.seq;
  const bool linked = record.prev_hash == m_head;
  if (linked)
    return found(Damage::edited, seq,
                 "record " + number(seq) +
                     " was edited: its contents do not match its hash");
  if (record_hash(record.prev_hash, record) == record.hash) {
    // intact, but after another record: the one before it was replaced
    if (m_last > m_start)
      return found(Damage::edited, m_last,
                   "record " + number(m_last) +
                       " was edited and its hash recomputed: record " +
                       number(seq) + " no longer links to it");
    return found(Damage::edited, seq,
                 "record " + number(seq) + " was edited: it does not link to " +
                     (m_input.base
                          ? "the retention base at record " + number(m_start)
                          : std::string("the start of the log")));
  }
  const auto moved = find_moved();
  if (!moved)
    return unreadable(moved.error());
  if (*moved)
    return reordered(**moved);
  if (const auto written = renumbered_from(record))
    return found(Damage::deleted, seq,
                 records_text(seq, *written - 1) +
                     (*written - 1 == seq ? " was" : " were") +
                     " deleted and the records after renumbered: the record "
                     "numbered " +
                     number(seq) + " was written as " + number(*written));
  return found(Damage::edited, seq,
               "record " + number(seq) +
                   " was edited: its contents and its link to the record "
                   "before do not match its hash");
}

VerifyReport Walk::finish() {
  for (; m_next_checkpoint < m_checkpoints.size(); ++m_next_checkpoint) {
    const auto &checkpoint = *m_checkpoints[m_next_checkpoint];
    if (auto problem = note_problem(checkpoint))
      return found(Damage::bad_checkpoint, checkpoint.size,
                   "the checkpoint at " + number(checkpoint.size) +
                       " records is not valid: " + *problem);
  }
  if (!m_checkpoints.empty() && m_checkpoints.back()->size > m_last) {
    const auto size = m_checkpoints.back()->size;
    return found(Damage::truncated, size,
                 "the log was cut short: " +
                     (m_last == 0 ? std::string("it holds no records")
                                  : "it ends at record " + number(m_last)) +
                     ", but a signed checkpoint says it held " + number(size) +
                     " records, so " + records_text(m_last + 1, size) +
                     (m_last + 1 == size ? " is" : " are") + " missing");
  }
  m_report.message = "the audit log is intact: " + number(m_report.records) +
                     " records and " + number(m_report.checkpoints) +
                     " checkpoints checked";
  return m_report;
}

// Returns the number now carried by the record that belongs after m_last
// (its prev_hash is m_head and its hash was made at m_last + 1), if it is
// among the next k_look_ahead records.
tl::expected<std::optional<std::uint64_t>, std::string>
Walk::find_moved() const {
  const auto expected = m_last + 1;
  std::uint64_t after = m_last;
  std::uint64_t read = 0;
  while (read < k_look_ahead) {
    auto page = m_input.pages(after, k_page_size);
    if (!page)
      return tl::unexpected(page.error());
    if (page->empty() || page->back().seq <= after)
      return std::nullopt;
    for (const auto &record : *page)
      if (record.prev_hash == m_head && hashed_as(m_head, record, expected))
        return record.seq;
    read += page->size();
    after = page->back().seq;
  }
  return std::nullopt;
}

// Returns the number record was written with, if it is one of the next
// k_renumber_window numbers: the records before it were deleted and the
// rest renumbered.
std::optional<std::uint64_t> Walk::renumbered_from(const Record &record) const {
  for (std::uint64_t seq = record.seq + 1;
       seq <= record.seq + k_renumber_window; ++seq)
    if (hashed_as(record.prev_hash, record, seq))
      return seq;
  return std::nullopt;
}

VerifyReport Walk::found(Damage damage, std::uint64_t seq,
                         std::string message) {
  m_report.damage = damage;
  m_report.seq = seq;
  m_report.message = std::move(message);
  return m_report;
}

VerifyReport Walk::unreadable(const std::string &error) {
  return found(Damage::unreadable, m_last + 1,
               "the audit log could not be read from record " +
                   number(m_last + 1) + ": " + error);
}

VerifyReport Walk::reordered(std::uint64_t moved_to) {
  const auto seq = m_last + 1;
  return found(Damage::reordered, seq,
               "records were reordered: the record written as " + number(seq) +
                   " is now numbered " + number(moved_to));
}

// "the log goes from record 16 to record 18"
std::string Walk::link_text(std::uint64_t to) const {
  if (m_last == 0)
    return "the log starts at record " + number(to);
  return "the log goes from record " + number(m_last) + " to record " +
         number(to);
}

} // namespace

const char *damage_name(VerifyReport::Damage damage) {
  switch (damage) {
  case Damage::none:
    return "ok";
  case Damage::edited:
    return "edited";
  case Damage::deleted:
    return "deleted";
  case Damage::reordered:
    return "reordered";
  case Damage::truncated:
    return "truncated";
  case Damage::bad_checkpoint:
    return "bad_checkpoint";
  case Damage::unreadable:
    return "unreadable";
  }
  return "unknown";
}

VerifyReport verify(const VerifyInput &input,
                    const std::optional<CheckpointVerifier> &key) {
  return Walk(input, key).run();
}

} // namespace dovewarden::audit
