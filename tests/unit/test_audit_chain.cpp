#include "audit/Chain.hpp"

#include <boost/test/unit_test.hpp>

#include <string>

using dovewarden::audit::canonical;
using dovewarden::audit::k_genesis_hash;
using dovewarden::audit::link;
using dovewarden::audit::Record;
using dovewarden::audit::record_hash;

namespace {

// The known answers below were computed apart from this code, with Python's
// hashlib over the encoding docs/audit.md describes:
//   enc(v) = str(len(bytes(v))) + ":" + bytes(v), for the fields in order
//   hash   = sha256(bytes.fromhex(prev_hash) + canonical).hexdigest()
Record expunge() {
  Record record;
  record.time = 1767225600123456;
  record.operation = "message.expunge";
  record.user = "alice@example.com";
  record.actor = "alice@example.com";
  record.ip = "192.0.2.10";
  record.port = 51234;
  record.session = "Ym9vdA";
  record.service = "imap";
  record.mailbox = "INBOX";
  record.mailbox_guid = "0f1e2d3c4b5a69788796a5b4c3d2e1f0";
  record.uid = 42;
  record.uidvalidity = 1700000000;
  record.msgid = "<a@example.com>";
  record.outcome = "ok";
  record.details = "{\"reason\":\"L\xc3\xb6schen\"}"; // "Löschen": 8 bytes
  record.inst = "7c2f";
  record.event_seq = 9;
  return record;
}

Record logout() {
  Record record;
  record.time = 1767225600200000;
  record.operation = "user.logout";
  record.user = "alice@example.com";
  record.actor = "alice@example.com";
  record.service = "imap";
  record.outcome = "ok";
  record.details = "{}";
  return record;
}

constexpr const char *k_expunge_hash =
    "63bdb2b74cb0fea94ddae5af204aba281cd1e96f5f5b0659d63f872808dc6b07";
constexpr const char *k_logout_hash =
    "23323e1c2a8a2893b1fd52769089c0193972d2cab406cdef54eeca097a43c440";

} // namespace

BOOST_AUTO_TEST_SUITE(audit_chain)

BOOST_AUTO_TEST_CASE(the_genesis_hash_is_64_zeros) {
  BOOST_TEST(k_genesis_hash == std::string(64, '0'));
}

BOOST_AUTO_TEST_CASE(canonical_encodes_every_field_as_length_colon_bytes) {
  auto record = expunge();
  record.seq = 1;
  BOOST_TEST(canonical(record) ==
             "1:116:176722560012345615:message.expunge17:alice@example.com"
             "17:alice@example.com10:192.0.2.105:512346:Ym9vdA4:imap5:INBOX"
             "32:0f1e2d3c4b5a69788796a5b4c3d2e1f02:4210:170000000015:"
             "<a@example.com>2:ok21:{\"reason\":\"L\xc3\xb6schen\"}4:7c2f1:9");
}

BOOST_AUTO_TEST_CASE(canonical_writes_empty_fields_and_zeros) {
  auto record = logout();
  record.seq = 2;
  BOOST_TEST(canonical(record) ==
             "1:216:176722560020000011:user.logout17:alice@example.com"
             "17:alice@example.com0:1:00:4:imap0:0:1:01:00:2:ok2:{}0:1:0");
}

BOOST_AUTO_TEST_CASE(canonical_leaves_out_the_hashes) {
  auto record = expunge();
  const auto before = canonical(record);
  record.prev_hash = std::string(64, 'a');
  record.hash = std::string(64, 'b');
  BOOST_TEST(canonical(record) == before);
}

BOOST_AUTO_TEST_CASE(canonical_tells_apart_fields_that_concatenate_alike) {
  auto a = logout();
  auto b = logout();
  a.user = "ab";
  a.actor = "c";
  b.user = "a";
  b.actor = "bc";
  BOOST_TEST(canonical(a) != canonical(b));
}

BOOST_AUTO_TEST_CASE(record_hash_matches_the_known_answers) {
  auto first = expunge();
  first.seq = 1;
  BOOST_TEST(record_hash(k_genesis_hash, first) == k_expunge_hash);
  auto second = logout();
  second.seq = 2;
  BOOST_TEST(record_hash(k_expunge_hash, second) == k_logout_hash);
}

BOOST_AUTO_TEST_CASE(record_hash_covers_every_field_and_the_previous_hash) {
  auto record = expunge();
  record.seq = 1;
  const auto hash = record_hash(k_genesis_hash, record);
  BOOST_TEST(record_hash(std::string(63, '0') + "1", record) != hash);
  auto changed = record;
  changed.uid = 43;
  BOOST_TEST(record_hash(k_genesis_hash, changed) != hash);
  changed = record;
  changed.seq = 2;
  BOOST_TEST(record_hash(k_genesis_hash, changed) != hash);
  changed = record;
  changed.details = "{\"reason\":\"Loschen\"}";
  BOOST_TEST(record_hash(k_genesis_hash, changed) != hash);
  changed = record;
  changed.event_seq = 10;
  BOOST_TEST(record_hash(k_genesis_hash, changed) != hash);
}

BOOST_AUTO_TEST_CASE(link_numbers_and_chains_records_after_the_head) {
  auto first = expunge();
  link(first, 0, k_genesis_hash);
  BOOST_TEST(first.seq == 1u);
  BOOST_TEST(first.prev_hash == k_genesis_hash);
  BOOST_TEST(first.hash == k_expunge_hash);

  auto second = logout();
  link(second, first.seq, first.hash);
  BOOST_TEST(second.seq == 2u);
  BOOST_TEST(second.prev_hash == k_expunge_hash);
  BOOST_TEST(second.hash == k_logout_hash);
}

BOOST_AUTO_TEST_CASE(link_continues_after_a_retention_base) {
  const std::string base_hash(64, 'c');
  auto record = logout();
  link(record, 500, base_hash);
  BOOST_TEST(record.seq == 501u);
  BOOST_TEST(record.prev_hash == base_hash);
  BOOST_TEST(record.hash == record_hash(base_hash, record));
  BOOST_TEST(record.hash.size() == 64u);
}

BOOST_AUTO_TEST_SUITE_END()
