#include "TestUtil.hpp"
#include "replication/ReplicationFeed.hpp"
#include "replication/ReplicationMetrics.hpp"
#include "replication/Trigger.hpp"
#include "store/SqliteStore.hpp"

#include <boost/test/unit_test.hpp>
#include <prometheus/registry.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace dw = dovewarden;
using dovewarden::test::ok;
using dw::store::Priority;

namespace {

// A replication store in a fresh directory, and the metrics the feed counts
// in.
struct Fixture {
  dw::test::TempDir dir;
  std::unique_ptr<dw::store::ReplicationStore> store =
      ok(dw::store::SqliteStore::open(dir.path()));
  prometheus::Registry registry;
  dw::replication::ReplicationMetrics metrics{registry};
};

} // namespace

BOOST_FIXTURE_TEST_SUITE(replication_feed, Fixture)

BOOST_AUTO_TEST_CASE(events_collapse_per_user_into_one_stored_request) {
  int stored = 0;
  dw::replication::ReplicationFeed feed(
      dw::replication::Trigger::defaults(), *store, metrics, [&] { stored++; },
      [](dw::core::Event) {});
  const auto event = [](const std::string &type, const std::string &user,
                        std::int64_t ts) {
    dw::core::Event e;
    e.message.type = type;
    e.source = "zmq";
    e.message.set("user", user);
    e.message.set("ts", ts);
    return e;
  };
  const std::int64_t t0 = 1'700'000'000'000'000;
  feed.handle(event("flags.set", "alice", t0 + 2000));
  feed.handle(event("message.new", "alice", t0 + 5000));
  feed.handle(event("message.expunge", "alice", t0 + 1000));
  feed.handle(event("user.login", "bob", t0));
  feed.flush();
  BOOST_TEST(stored == 1);
  const auto users = ok(store->users("*"));
  BOOST_REQUIRE_EQUAL(users.size(), 1u);
  BOOST_TEST(users[0].user == "alice");
  BOOST_TEST((users[0].priority == Priority::high));
  BOOST_TEST((users[0].requested ==
              dw::store::TimePoint(std::chrono::microseconds(t0 + 1000))));
  feed.flush(); // nothing pending: no store call
  BOOST_TEST(stored == 1);
}

BOOST_AUTO_TEST_CASE(a_new_uidvalidity_queues_a_full_sync_and_says_so) {
  std::vector<dw::core::Event> published;
  dw::replication::ReplicationFeed feed(
      dw::replication::Trigger::defaults(), *store, metrics, [] {},
      [&](dw::core::Event e) { published.push_back(std::move(e)); });
  const auto append = [](std::int64_t uidvalidity) {
    dw::core::Event e;
    e.message.type = "message.append";
    e.source = "zmq";
    e.message.set("user", std::string("alice"));
    e.message.set("mailbox", std::string("INBOX"));
    e.message.set("uidvalidity", uidvalidity);
    return e;
  };
  feed.handle(append(100));
  feed.handle(append(100));
  feed.flush();
  BOOST_TEST(!ok(store->users("alice")).front().full_requested);
  BOOST_TEST(published.empty());
  feed.handle(append(200));
  feed.flush();
  BOOST_TEST(ok(store->users("alice")).front().full_requested);
  BOOST_REQUIRE_EQUAL(published.size(), 1u);
  BOOST_TEST(published[0].type() == "mailbox.uidvalidity_changed");
  BOOST_TEST(published[0].message.integer("old_uidvalidity") == 100);
  BOOST_TEST(published[0].message.integer("uidvalidity") == 200);
}

BOOST_AUTO_TEST_CASE(admit_stores_at_once_and_ignores_what_does_not_trigger) {
  dw::replication::ReplicationFeed feed(
      dw::replication::Trigger::defaults(), *store, metrics, [] {},
      [](dw::core::Event) {});
  dw::core::Event e;
  e.message.type = "imap_command_finished";
  e.source = "http";
  e.message.set("user", std::string("carol"));
  e.message.set("cmd_name", std::string("APPEND"));
  e.message.set("tagged_reply_state", std::string("OK"));
  BOOST_TEST(ok(feed.admit(e)) == true);
  BOOST_TEST(ok(store->users("carol")).size() == 1u);
  e.message.set("cmd_name", std::string("SELECT"));
  BOOST_TEST(ok(feed.admit(e)) == false);
}

BOOST_AUTO_TEST_CASE(its_filter_leaves_out_daemon_and_admitted_events) {
  const auto filter = dw::replication::ReplicationFeed::filter();
  const struct {
    const char *source;
    bool passes;
  } cases[] = {{"zmq", true}, {"http", false}, {"daemon", false}};
  dw::core::Event e;
  e.message.type = "imap_command_finished";
  for (const auto &c : cases) {
    BOOST_TEST_CONTEXT(c.source) {
      e.source = c.source;
      BOOST_TEST(filter->matches(e) == c.passes);
    }
  }
  // the daemon's events.lost passes: it asks for a repair
  e.message.type = "events.lost";
  e.source = "daemon";
  BOOST_TEST(filter->matches(e));
  BOOST_TEST(filter->describe() ==
             "(source != daemon AND source != http) OR event = events.lost");
}

BOOST_AUTO_TEST_CASE(events_lost_queues_the_users_it_names_at_once_high) {
  dw::replication::ReplicationFeed feed(
      dw::replication::Trigger::defaults(), *store, metrics, [] {},
      [](dw::core::Event) {});
  auto lost = dw::core::Event::internal("events.lost");
  lost.message.set("lost", std::uint64_t{3});
  lost.message.set("users", dw::wire::Strings{"alice", "bob"});
  feed.handle(lost);
  // a loss naming nobody (an instance whose user is unknown) queues nobody
  feed.handle(dw::core::Event::internal("events.lost"));
  feed.flush();
  auto users = ok(store->users("*"));
  BOOST_REQUIRE_EQUAL(users.size(), 2u);
  std::sort(users.begin(), users.end(),
            [](const auto &a, const auto &b) { return a.user < b.user; });
  BOOST_TEST(users[0].user == "alice");
  BOOST_TEST((users[0].priority == Priority::high));
  BOOST_TEST(users[1].user == "bob");
  BOOST_TEST((users[1].priority == Priority::high));
}

BOOST_AUTO_TEST_SUITE_END()
