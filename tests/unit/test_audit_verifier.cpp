#include "TestUtil.hpp"
#include "audit/Chain.hpp"
#include "audit/Checkpoint.hpp"
#include "audit/Verifier.hpp"

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

using dovewarden::audit::Checkpoint;
using dovewarden::audit::CheckpointSigner;
using dovewarden::audit::CheckpointVerifier;
using dovewarden::audit::damage_name;
using dovewarden::audit::k_genesis_hash;
using dovewarden::audit::link;
using dovewarden::audit::Record;
using dovewarden::audit::record_hash;
using dovewarden::audit::verify;
using dovewarden::audit::VerifyInput;
using dovewarden::audit::VerifyReport;
using dovewarden::test::ok;
using dovewarden::test::TempDir;
using Damage = VerifyReport::Damage;

namespace {

constexpr const char *k_origin = "mx1.example.com/dovewarden/audit";

Record event(std::uint64_t n) {
  Record record;
  record.time = 1767225600000000 + static_cast<std::int64_t>(n) * 1000;
  record.operation = n % 3 == 0 ? "message.expunge" : "message.save";
  record.user = "user" + std::to_string(n % 7) + "@example.com";
  record.actor = record.user;
  record.ip = "192.0.2.1";
  record.port = 40000 + static_cast<std::uint32_t>(n % 1000);
  record.session = "s" + std::to_string(n / 10);
  record.service = "imap";
  record.mailbox = "INBOX";
  record.uid = static_cast<std::uint32_t>(n);
  record.uidvalidity = 1700000000;
  record.msgid = "<" + std::to_string(n) + "@example.com>";
  record.outcome = "ok";
  record.details = "{\"n\":" + std::to_string(n) + "}";
  record.inst = "inst-1";
  record.event_seq = n;
  return record;
}

// An audit table in memory: rows by seq, as a database holds them, so that
// tests tamper with it as someone with write access to the database would.
class Log {
public:
  // Appends count records, linked after the last (or after a base).
  explicit Log(std::uint64_t count, std::uint64_t base_size = 0,
               std::string base_hash = k_genesis_hash) {
    std::uint64_t seq = base_size;
    std::string hash = std::move(base_hash);
    for (std::uint64_t n = 1; n <= count; ++n) {
      auto record = event(base_size + n);
      link(record, seq, hash);
      seq = record.seq;
      hash = record.hash;
      rows.emplace(seq, std::move(record));
    }
  }

  const Record &at(std::uint64_t seq) const { return rows.at(seq); }

  // UPDATE ... SET details = ... WHERE seq = seq
  void edit(std::uint64_t seq) { rows.at(seq).details = "{\"n\":0}"; }
  // DELETE ... WHERE seq BETWEEN first AND last
  void remove(std::uint64_t first, std::uint64_t last) {
    rows.erase(rows.lower_bound(first), rows.upper_bound(last));
  }
  // the seq values of two rows exchanged: each keeps its contents
  void swap(std::uint64_t a, std::uint64_t b) {
    auto first = rows.extract(a);
    auto second = rows.extract(b);
    first.key() = first.mapped().seq = b;
    second.key() = second.mapped().seq = a;
    rows.insert(std::move(first));
    rows.insert(std::move(second));
  }
  // UPDATE ... SET seq = seq - by WHERE seq > after
  void renumber(std::uint64_t after, std::uint64_t by) {
    std::map<std::uint64_t, Record> renumbered;
    for (auto &[seq, record] : rows) {
      if (seq > after)
        record.seq -= by;
      renumbered.emplace(record.seq, std::move(record));
    }
    rows = std::move(renumbered);
  }
  // the records from seq on edited and their hashes recomputed
  void rewrite_from(std::uint64_t seq) {
    auto hash = rows.at(seq).prev_hash;
    for (auto it = rows.find(seq); it != rows.end(); ++it) {
      it->second.details = "{\"rewritten\":true}";
      link(it->second, it->first - 1, hash);
      hash = it->second.hash;
    }
  }

  VerifyInput input() {
    VerifyInput input;
    input.origin = k_origin;
    input.base = base;
    input.checkpoints = checkpoints;
    input.pages = [this](std::uint64_t after, std::size_t limit)
        -> tl::expected<std::vector<Record>, std::string> {
      ++page_calls;
      largest_page = std::max(largest_page, limit);
      if (failing)
        return tl::unexpected(std::string("database is locked"));
      std::vector<Record> page;
      for (auto it = rows.upper_bound(after);
           it != rows.end() && page.size() < limit; ++it)
        page.push_back(it->second);
      return page;
    };
    return input;
  }

  std::map<std::uint64_t, Record> rows;
  std::optional<Checkpoint> base;
  std::vector<Checkpoint> checkpoints;
  bool failing = false;
  std::size_t page_calls = 0;
  std::size_t largest_page = 0;
};

struct Keys {
  Keys()
      : signer(ok(CheckpointSigner::load(dir.path() + "/audit.key", k_origin))),
        verifier(ok(CheckpointVerifier::parse(signer.verifier_key()))) {}

  Checkpoint sign(const Log &log, std::uint64_t size) const {
    return signer.sign(k_origin, size, log.at(size).hash, 0);
  }

  TempDir dir;
  CheckpointSigner signer;
  CheckpointVerifier verifier;
};

const Keys &keys() {
  static const Keys made;
  return made;
}

VerifyReport verified(Log &log, bool with_key = true) {
  return verify(log.input(),
                with_key ? std::optional(keys().verifier) : std::nullopt);
}

// a log of 100 records with signed checkpoints at 50 and 100
Log checkpointed() {
  Log log(100);
  log.checkpoints = {keys().sign(log, 50), keys().sign(log, 100)};
  return log;
}

void check_damage(const VerifyReport &report, Damage damage, std::uint64_t seq,
                  const std::string &message) {
  BOOST_TEST(damage_name(report.damage) == damage_name(damage));
  BOOST_TEST(report.seq == seq);
  BOOST_TEST(report.message == message);
  BOOST_TEST(!report.ok());
}

} // namespace

BOOST_AUTO_TEST_SUITE(audit_verifier)

BOOST_AUTO_TEST_CASE(an_intact_log_is_ok_with_its_counts) {
  auto log = checkpointed();
  const auto report = verified(log);
  BOOST_TEST(report.ok());
  BOOST_TEST(damage_name(report.damage) == "ok");
  BOOST_TEST(report.records == 100u);
  BOOST_TEST(report.checkpoints == 2u);
  BOOST_TEST(report.message ==
             "the audit log is intact: 100 records and 2 checkpoints checked");
  BOOST_TEST(verified(log, false).ok());
}

BOOST_AUTO_TEST_CASE(an_empty_log_is_ok) {
  Log log(0);
  const auto report = verified(log);
  BOOST_TEST(report.ok());
  BOOST_TEST(report.records == 0u);
  BOOST_TEST(report.checkpoints == 0u);
}

BOOST_AUTO_TEST_CASE(an_edited_record_is_named) {
  auto log = checkpointed();
  log.edit(17);
  const auto report = verified(log);
  check_damage(report, Damage::edited, 17,
               "record 17 was edited: its contents do not match its hash");
  BOOST_TEST(report.records == 16u);
}

BOOST_AUTO_TEST_CASE(an_edit_with_its_hash_recomputed_is_an_edit) {
  auto log = checkpointed();
  auto &record = log.rows.at(17);
  record.user = "someone-else@example.com";
  record.hash = record_hash(record.prev_hash, record);
  check_damage(
      verified(log), Damage::edited, 17,
      "record 17 was edited and its hash recomputed: record 18 no longer "
      "links to it");
}

BOOST_AUTO_TEST_CASE(an_edit_of_the_link_too_is_an_edit) {
  auto log = checkpointed();
  log.edit(17);
  log.rows.at(17).prev_hash = std::string(64, 'f');
  check_damage(verified(log), Damage::edited, 17,
               "record 17 was edited: its contents and its link to the record "
               "before do not match its hash");
}

BOOST_AUTO_TEST_CASE(a_deleted_record_is_named) {
  auto log = checkpointed();
  log.remove(17, 17);
  check_damage(verified(log), Damage::deleted, 17,
               "record 17 was deleted: the log goes from record 16 to record "
               "18");
}

BOOST_AUTO_TEST_CASE(deleted_records_are_named_from_the_first) {
  auto log = checkpointed();
  log.remove(17, 19);
  check_damage(verified(log), Damage::deleted, 17,
               "records 17 to 19 were deleted: the log goes from record 16 to "
               "record 20");
}

BOOST_AUTO_TEST_CASE(a_deleted_first_record_is_named) {
  auto log = checkpointed();
  log.remove(1, 1);
  check_damage(verified(log), Damage::deleted, 1,
               "record 1 was deleted: the log starts at record 2");
}

BOOST_AUTO_TEST_CASE(a_deletion_followed_by_renumbering_is_a_deletion) {
  auto log = checkpointed();
  log.remove(17, 17);
  log.renumber(17, 1);
  check_damage(verified(log), Damage::deleted, 17,
               "record 17 was deleted and the records after renumbered: the "
               "record numbered 17 was written as 18");
}

BOOST_AUTO_TEST_CASE(several_deletions_followed_by_renumbering_are_named) {
  auto log = checkpointed();
  log.remove(17, 19);
  log.renumber(19, 3);
  check_damage(verified(log), Damage::deleted, 17,
               "records 17 to 19 were deleted and the records after "
               "renumbered: the record numbered 17 was written as 20");
}

BOOST_AUTO_TEST_CASE(two_swapped_records_are_a_reordering) {
  auto log = checkpointed();
  log.swap(17, 18);
  const auto report = verified(log);
  check_damage(report, Damage::reordered, 17,
               "records were reordered: the record written as 17 is now "
               "numbered 18");
  BOOST_TEST(report.records == 16u);
}

BOOST_AUTO_TEST_CASE(records_swapped_far_apart_are_a_reordering) {
  auto log = checkpointed();
  log.swap(17, 80);
  check_damage(verified(log), Damage::reordered, 17,
               "records were reordered: the record written as 17 is now "
               "numbered 80");
}

BOOST_AUTO_TEST_CASE(the_last_two_records_swapped_are_a_reordering) {
  auto log = checkpointed();
  log.swap(99, 100);
  check_damage(verified(log), Damage::reordered, 99,
               "records were reordered: the record written as 99 is now "
               "numbered 100");
}

BOOST_AUTO_TEST_CASE(a_record_moved_past_the_end_is_a_reordering) {
  auto log = checkpointed();
  auto moved = log.rows.extract(17);
  moved.key() = moved.mapped().seq = 101;
  log.rows.insert(std::move(moved));
  check_damage(verified(log), Damage::reordered, 17,
               "records were reordered: the record written as 17 is now "
               "numbered 101");
}

BOOST_AUTO_TEST_CASE(a_tail_cut_behind_the_last_checkpoint_is_a_truncation) {
  auto log = checkpointed();
  log.remove(91, 100);
  const auto report = verified(log);
  check_damage(report, Damage::truncated, 100,
               "the log was cut short: it ends at record 90, but a signed "
               "checkpoint says it held 100 records, so records 91 to 100 are "
               "missing");
  BOOST_TEST(report.records == 90u);
  BOOST_TEST(report.checkpoints == 1u);
}

BOOST_AUTO_TEST_CASE(a_log_emptied_behind_a_checkpoint_is_a_truncation) {
  auto log = checkpointed();
  log.remove(1, 100);
  check_damage(verified(log), Damage::truncated, 100,
               "the log was cut short: it holds no records, but a signed "
               "checkpoint says it held 100 records, so records 1 to 100 are "
               "missing");
}

BOOST_AUTO_TEST_CASE(a_tail_cut_after_the_last_checkpoint_goes_unseen) {
  // what the header says verify cannot see: records after the last
  // checkpoint removed from the end
  Log log(100);
  log.checkpoints = {keys().sign(log, 50)};
  log.remove(91, 100);
  const auto report = verified(log);
  BOOST_TEST(report.ok());
  BOOST_TEST(report.records == 90u);
}

BOOST_AUTO_TEST_CASE(the_first_damage_is_the_one_reported) {
  auto log = checkpointed();
  log.remove(40, 40);
  log.swap(30, 31);
  log.edit(20);
  log.remove(95, 100);
  BOOST_TEST(verified(log).seq == 20u);
  BOOST_TEST(damage_name(verified(log).damage) == "edited");
}

BOOST_AUTO_TEST_CASE(a_log_after_a_retention_base_is_checked_from_it) {
  Log removed(500);
  const auto base = keys().sign(removed, 500);
  Log log(100, 500, base.hash);
  log.base = base;
  log.checkpoints = {base,
                     keys().signer.sign(k_origin, 600, log.at(600).hash, 0)};
  // retention removes in steps: records before the base may remain
  log.rows.emplace(499, removed.at(499));
  const auto report = verified(log);
  BOOST_TEST(report.ok(), report.message);
  BOOST_TEST(report.records == 100u);
  BOOST_TEST(report.checkpoints == 2u);
  BOOST_TEST(log.rows.begin()->first == 499u);
}

BOOST_AUTO_TEST_CASE(a_log_that_does_not_continue_its_base_is_damaged) {
  Log removed(500);
  Log log(100, 500, removed.at(500).hash);
  log.base = keys().sign(removed, 499);
  log.base->size = 500; // the base's note says 499
  check_damage(verified(log), Damage::bad_checkpoint, 500,
               "the retention base, a checkpoint at 500 records, is not "
               "valid: its note does not state its origin, size and hash");

  log.base = keys().sign(removed, 499);
  const auto report = verified(log);
  BOOST_TEST(damage_name(report.damage) == "deleted");
  BOOST_TEST(report.seq == 500u);
}

BOOST_AUTO_TEST_CASE(a_first_record_that_does_not_link_to_the_base_is_named) {
  Log removed(500);
  Log log(100, 500, std::string(64, 'e'));
  log.base = keys().sign(removed, 500);
  check_damage(verified(log), Damage::edited, 501,
               "record 501 was edited: it does not link to the retention base "
               "at record 500");
}

BOOST_AUTO_TEST_CASE(a_checkpoint_of_another_key_is_bad) {
  const TempDir dir;
  const auto other =
      ok(CheckpointSigner::load(dir.path() + "/other.key", k_origin));
  auto log = checkpointed();
  log.checkpoints[0] = other.sign(k_origin, 50, log.at(50).hash, 0);
  check_damage(verified(log), Damage::bad_checkpoint, 50,
               "the checkpoint at 50 records is not valid: the note is not "
               "signed by the key " +
                   std::string(k_origin));
  // without a key only the chain and the checkpoints' hashes are checked
  BOOST_TEST(verified(log, false).ok());
}

BOOST_AUTO_TEST_CASE(a_checkpoint_beyond_the_end_of_another_key_is_bad) {
  const TempDir dir;
  const auto other =
      ok(CheckpointSigner::load(dir.path() + "/other.key", k_origin));
  Log log(100);
  log.checkpoints = {keys().sign(log, 50),
                     other.sign(k_origin, 200, std::string(64, 'a'), 0)};
  const auto report = verified(log);
  BOOST_TEST(damage_name(report.damage) == "bad_checkpoint");
  BOOST_TEST(report.seq == 200u);
}

BOOST_AUTO_TEST_CASE(a_checkpoint_whose_hash_differs_is_bad) {
  auto log = checkpointed();
  log.checkpoints[0] = keys().signer.sign(k_origin, 50, log.at(49).hash, 0);
  check_damage(verified(log), Damage::bad_checkpoint, 50,
               "the checkpoint at 50 records does not match record 50: the log "
               "before it was rewritten after it was signed");
}

BOOST_AUTO_TEST_CASE(a_log_rewritten_with_new_hashes_fails_its_checkpoint) {
  auto log = checkpointed();
  log.rewrite_from(17);
  const auto report = verified(log, false);
  BOOST_TEST(damage_name(report.damage) == "bad_checkpoint");
  BOOST_TEST(report.seq == 50u);
  BOOST_TEST(report.records == 50u);
}

BOOST_AUTO_TEST_CASE(a_checkpoint_of_another_origin_is_bad) {
  const TempDir dir;
  const auto other = ok(CheckpointSigner::load(dir.path() + "/k", "mx2"));
  auto log = checkpointed();
  log.checkpoints[1] = other.sign("mx2", 100, log.at(100).hash, 0);
  check_damage(verified(log, false), Damage::bad_checkpoint, 100,
               "the checkpoint at 100 records is not valid: it is a checkpoint "
               "of another log, mx2");
}

BOOST_AUTO_TEST_CASE(a_checkpoint_whose_fields_differ_from_its_note_is_bad) {
  auto log = checkpointed();
  log.checkpoints[1].size = 90;
  log.checkpoints[1].hash = log.at(90).hash;
  for (const bool with_key : {true, false})
    check_damage(verified(log, with_key), Damage::bad_checkpoint, 90,
                 "the checkpoint at 90 records is not valid: its note does not "
                 "state its origin, size and hash");
}

BOOST_AUTO_TEST_CASE(checkpoints_out_of_order_are_all_checked) {
  auto log = checkpointed();
  std::reverse(log.checkpoints.begin(), log.checkpoints.end());
  BOOST_TEST(verified(log).checkpoints == 2u);
  log.checkpoints[1] = keys().signer.sign(k_origin, 50, log.at(51).hash, 0);
  BOOST_TEST(verified(log).seq == 50u);
}

BOOST_AUTO_TEST_CASE(a_log_that_cannot_be_read_is_unreadable) {
  auto log = checkpointed();
  log.failing = true;
  check_damage(verified(log), Damage::unreadable, 1,
               "the audit log could not be read from record 1: database is "
               "locked");
}

BOOST_AUTO_TEST_CASE(a_large_log_is_read_in_bounded_pages) {
  Log log(100000);
  for (std::uint64_t size = 10000; size <= 100000; size += 10000)
    log.checkpoints.push_back(keys().sign(log, size));
  const auto report = verified(log);
  BOOST_TEST(report.ok(), report.message);
  BOOST_TEST(report.records == 100000u);
  BOOST_TEST(report.checkpoints == 10u);
  BOOST_TEST(log.largest_page <= 1000u);
  BOOST_TEST(log.page_calls >= 100u);

  log.swap(99998, 99999);
  check_damage(verified(log), Damage::reordered, 99998,
               "records were reordered: the record written as 99998 is now "
               "numbered 99999");
  BOOST_TEST(log.largest_page <= 1000u);
}

BOOST_AUTO_TEST_CASE(damage_names_are_those_of_the_metrics) {
  BOOST_TEST(damage_name(Damage::none) == "ok");
  BOOST_TEST(damage_name(Damage::edited) == "edited");
  BOOST_TEST(damage_name(Damage::deleted) == "deleted");
  BOOST_TEST(damage_name(Damage::reordered) == "reordered");
  BOOST_TEST(damage_name(Damage::truncated) == "truncated");
  BOOST_TEST(damage_name(Damage::bad_checkpoint) == "bad_checkpoint");
  BOOST_TEST(damage_name(Damage::unreadable) == "unreadable");
}

BOOST_AUTO_TEST_SUITE_END()
