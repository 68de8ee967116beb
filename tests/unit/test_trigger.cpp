#include "replication/Trigger.hpp"

#include <boost/test/unit_test.hpp>

namespace dw = dovewarden;
using dw::replication::Trigger;
using dw::store::Priority;

namespace {

dw::core::Event event(const std::string &type,
                      const std::string &origin = "client") {
  dw::core::Event e;
  e.message.type = type;
  e.source = "zmq";
  e.message.set("user", std::string("alice"));
  e.message.set("origin", origin);
  return e;
}

dw::core::Event command(const std::string &name,
                        const std::string &state = "OK") {
  auto e = event("imap_command_finished");
  e.message.set("cmd_name", name);
  e.message.set("tagged_reply_state", state);
  return e;
}

std::optional<Priority> of(const dw::core::Event &e) {
  return Trigger::defaults().priority(e);
}

} // namespace

BOOST_AUTO_TEST_SUITE(trigger)

BOOST_AUTO_TEST_CASE(new_mail_is_high_other_changes_low) {
  for (const char *type : {"message.new", "message.append", "message.copy",
                           "message.move", "mail_delivery_finished"})
    BOOST_TEST((of(event(type)) == Priority::high), type);
  for (const char *type :
       {"message.expunge", "message.read", "message.trash", "flags.set",
        "flags.clear", "mailbox.create", "mailbox.delete", "mailbox.rename",
        "mailbox.subscribe", "mailbox.unsubscribe"})
    BOOST_TEST((of(event(type)) == Priority::low), type);
}

BOOST_AUTO_TEST_CASE(sessions_and_reads_do_not_trigger) {
  for (const char *type :
       {"user.login", "user.logout", "message.open", "events.lost"})
    BOOST_TEST(!of(event(type)).has_value(), type);
  BOOST_TEST(!of(command("SELECT")).has_value());
  BOOST_TEST(!of(command("FETCH")).has_value());
  BOOST_TEST(!of(command("UID FETCH")).has_value());
}

BOOST_AUTO_TEST_CASE(changing_commands_trigger_only_when_they_succeed) {
  BOOST_TEST((of(command("APPEND")) == Priority::high));
  BOOST_TEST((of(command("UID MOVE")) == Priority::high));
  BOOST_TEST((of(command("uid copy")) == Priority::high));
  for (const char *name : {"STORE", "UID STORE", "EXPUNGE", "UID EXPUNGE",
                           "CLOSE", "CREATE", "DELETE", "RENAME", "SUBSCRIBE",
                           "UNSUBSCRIBE", "SETMETADATA", "SETACL", "DELETEACL"})
    BOOST_TEST((of(command(name)) == Priority::low), name);
  BOOST_TEST(!of(command("APPEND", "NO")).has_value());
  BOOST_TEST(!of(command("STORE", "BAD")).has_value());
}

BOOST_AUTO_TEST_CASE(dsync_daemon_and_userless_events_never_trigger) {
  BOOST_TEST(!of(event("message.new", "dsync")).has_value());
  auto own = event("message.new");
  own.source = "daemon";
  BOOST_TEST(!of(own).has_value());
  dw::core::Event nobody;
  nobody.message.type = "message.new";
  BOOST_TEST(!of(nobody).has_value());
}

BOOST_AUTO_TEST_CASE(lists_are_configurable) {
  const auto trigger =
      Trigger::parse("flags.*, imap_command_finished:noop", "message.*");
  BOOST_REQUIRE(trigger);
  BOOST_TEST((trigger->priority(event("flags.set")) == Priority::high));
  BOOST_TEST((trigger->priority(command("NOOP")) == Priority::high));
  BOOST_TEST((trigger->priority(event("message.expunge")) == Priority::low));
  BOOST_TEST(!trigger->priority(event("mailbox.create")).has_value());
  BOOST_TEST(!trigger->priority(command("APPEND")).has_value());
}

BOOST_AUTO_TEST_CASE(bad_lists_name_the_setting) {
  const auto bad_high = Trigger::parse("message.new:APPEND", "");
  BOOST_REQUIRE(!bad_high);
  BOOST_TEST(bad_high.error().setting == "DOVEWARDEN_REPLICATION_HIGH_EVENTS");
  const auto bad_low = Trigger::parse("", "imap_command_finished:");
  BOOST_REQUIRE(!bad_low);
  BOOST_TEST(bad_low.error().setting == "DOVEWARDEN_REPLICATION_LOW_EVENTS");
  BOOST_TEST(bad_low.error().message.find("imap_command_finished:") !=
             std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()
