#include "audit/Chain.hpp"
#include "audit/RecordJson.hpp"
#include "audit/RecordMapping.hpp"

#include <boost/test/unit_test.hpp>

#include <cstdint>
#include <string>

using dovewarden::audit::to_record;
using dovewarden::core::Event;

namespace {

Event plugin_event(const std::string &type) {
  Event event;
  event.source = "zmq";
  event.message.type = type;
  event.message.set("ts", std::uint64_t{1700000000123456});
  event.message.set("host", std::string("mx1"));
  event.message.set("svc", std::string("imap"));
  event.message.set("pid", std::uint64_t{4242});
  event.message.set("inst", std::string("00ff00ff00ff00ff"));
  event.message.set("seq", std::uint64_t{17});
  event.message.set("user", std::string("alice@example.com"));
  event.message.set("session", std::string("sess1"));
  event.message.set("ip", std::string("192.0.2.7"));
  event.message.set("port", std::uint64_t{51234});
  event.message.set("origin", std::string("client"));
  return event;
}

} // namespace

BOOST_AUTO_TEST_SUITE(record_mapping)

// An export is verified off the host from its JSON: a field that is not
// UTF-8 would come back changed and fail as an edit.
BOOST_AUTO_TEST_CASE(text_that_is_not_utf8_is_recorded_as_it_reads_back) {
  auto event = plugin_event("message.expunge");
  event.message.set("mailbox", std::string("Inbox\xFF"));
  event.message.set("msgid", std::string("<a\xC3(b@example.com>"));
  event.message.set("x_header", std::string("\xE2\x28"));
  auto record = to_record(event);
  BOOST_TEST(record.mailbox == "Inbox\xEF\xBF\xBD");
  BOOST_TEST(record.msgid == "<a\xEF\xBF\xBD(b@example.com>");
  dovewarden::audit::link(record, 0, dovewarden::audit::k_genesis_hash);

  const auto line = dovewarden::audit::record_json(
                        record, dovewarden::audit::DetailsForm::text)
                        .dump();
  const auto back =
      dovewarden::audit::record_from_json(nlohmann::json::parse(line));
  BOOST_REQUIRE(back.has_value());
  BOOST_TEST(dovewarden::audit::record_hash(back->prev_hash, *back) ==
             record.hash);
}

BOOST_AUTO_TEST_CASE(plugin_event_fills_the_columns_and_keeps_the_rest) {
  auto event = plugin_event("message.expunge");
  event.message.set("mailbox", std::string("INBOX"));
  event.message.set("mailbox_guid", std::string("0123abcd"));
  event.message.set("uid", std::uint64_t{99});
  event.message.set("uidvalidity", std::uint64_t{1600000000});
  event.message.set("msgid", std::string("<a@b>"));
  event.message.set("reason", std::string("user"));
  const auto record = to_record(event);
  BOOST_TEST(record.seq == 0u);
  BOOST_TEST(record.hash.empty());
  BOOST_TEST(record.operation == "message.expunge");
  BOOST_TEST(record.time == 1700000000123456);
  BOOST_TEST(record.user == "alice@example.com");
  BOOST_TEST(record.actor == "alice@example.com");
  BOOST_TEST(record.ip == "192.0.2.7");
  BOOST_TEST(record.port == 51234u);
  BOOST_TEST(record.session == "sess1");
  BOOST_TEST(record.service == "imap");
  BOOST_TEST(record.mailbox == "INBOX");
  BOOST_TEST(record.mailbox_guid == "0123abcd");
  BOOST_TEST(record.uid == 99u);
  BOOST_TEST(record.uidvalidity == 1600000000u);
  BOOST_TEST(record.msgid == "<a@b>");
  BOOST_TEST(record.outcome == "ok");
  BOOST_TEST(record.inst == "00ff00ff00ff00ff");
  BOOST_TEST(record.event_seq == 17u);
  BOOST_TEST(record.details ==
             R"({"host":"mx1","pid":4242,"origin":"client","reason":"user"})");
}

BOOST_AUTO_TEST_CASE(actor_names_who_did_it) {
  auto dsync = plugin_event("message.new");
  dsync.message.set("origin", std::string("dsync"));
  BOOST_TEST(to_record(dsync).actor == "dsync");
  auto delivery = plugin_event("message.new");
  delivery.message.set("svc", std::string("lmtp"));
  delivery.message.set("origin", std::string("delivery"));
  BOOST_TEST(to_record(delivery).actor == "delivery");
  auto doveadm = plugin_event("message.expunge");
  doveadm.message.set("svc", std::string("doveadm"));
  doveadm.message.set("origin", std::string(""));
  BOOST_TEST(to_record(doveadm).actor == "doveadm");
}

BOOST_AUTO_TEST_CASE(admin_event_carries_its_actor_and_caller) {
  auto event = Event::internal("admin.replicate");
  event.message.set("actor", std::string("admin:ops.token"));
  event.message.set("ip", std::string("198.51.100.4"));
  event.message.set("port", std::uint64_t{40000});
  event.message.set("method", std::string("POST"));
  event.message.set("path", std::string("/replicate"));
  event.message.set("status", std::uint64_t{200});
  event.message.set("user", std::string("bob"));
  const auto record = to_record(event);
  BOOST_TEST(record.actor == "admin:ops.token");
  BOOST_TEST(record.ip == "198.51.100.4");
  BOOST_TEST(record.port == 40000u);
  BOOST_TEST(record.user == "bob");
  BOOST_TEST(record.service == "dovewardend");
  BOOST_TEST(record.inst.empty());
  BOOST_TEST(record.details ==
             R"({"method":"POST","path":"/replicate","status":200})");
}

BOOST_AUTO_TEST_CASE(daemon_events_are_the_daemons) {
  auto failed = Event::internal("replication.failed");
  failed.message.set("user", std::string("carol"));
  const auto record = to_record(failed);
  BOOST_TEST(record.actor == "daemon");
  BOOST_TEST(record.service == "dovewardend");
  BOOST_TEST(record.outcome == "failed");

  // the process whose events were lost stays in the details
  auto lost = Event::internal("events.lost");
  lost.message.set("svc", std::string("imap"));
  lost.message.set("inst", std::string("abc"));
  lost.message.set("lost", std::uint64_t{3});
  const auto lost_record = to_record(lost);
  BOOST_TEST(lost_record.outcome == "lost");
  BOOST_TEST(lost_record.inst.empty());
  BOOST_TEST(lost_record.event_seq == 0u);
  BOOST_TEST(lost_record.details == R"({"svc":"imap","inst":"abc","lost":3})");
}

BOOST_AUTO_TEST_SUITE_END()
