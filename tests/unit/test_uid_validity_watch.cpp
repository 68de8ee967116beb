#include "replication/UidValidityWatch.hpp"

#include <boost/test/unit_test.hpp>

#include <cstdint>
#include <optional>

using dovewarden::replication::UidValidityWatch;

BOOST_AUTO_TEST_SUITE(uid_validity_watch)

BOOST_AUTO_TEST_CASE(a_mailbox_seen_first_or_unchanged_is_no_change) {
  UidValidityWatch watch;
  BOOST_TEST(!watch.see("alice", "INBOX", 100));
  BOOST_TEST(!watch.see("alice", "INBOX", 100));
  BOOST_TEST(!watch.see("alice", "INBOX", 100));
}

BOOST_AUTO_TEST_CASE(a_new_uidvalidity_returns_the_old_one_once) {
  UidValidityWatch watch;
  watch.see("alice", "INBOX", 100);
  BOOST_TEST(watch.see("alice", "INBOX", 200).value_or(0) == 100u);
  // the new one is remembered: no full sync for every later event
  BOOST_TEST(!watch.see("alice", "INBOX", 200));
  BOOST_TEST(watch.see("alice", "INBOX", 100).value_or(0) == 200u);
}

BOOST_AUTO_TEST_CASE(each_user_and_mailbox_is_watched_on_its_own) {
  UidValidityWatch watch;
  watch.see("alice", "INBOX", 100);
  BOOST_TEST(!watch.see("bob", "INBOX", 200));
  BOOST_TEST(!watch.see("alice", "Sent", 300));
  // the user and the mailbox are not run together into one name
  watch.see("ab", "c", 400);
  BOOST_TEST(!watch.see("a", "bc", 500));
  BOOST_TEST(!watch.see("alice", "INBOX", 100));
  BOOST_TEST(!watch.see("bob", "INBOX", 200));
  BOOST_TEST(!watch.see("ab", "c", 400));
}

BOOST_AUTO_TEST_CASE(when_full_it_forgets_everything_and_learns_anew) {
  UidValidityWatch watch(2);
  watch.see("alice", "INBOX", 100);
  watch.see("alice", "Sent", 100);
  // a third mailbox does not fit: what was known is forgotten
  watch.see("alice", "Trash", 100);
  BOOST_TEST(!watch.see("alice", "INBOX", 200));
  // and the third one was kept
  BOOST_TEST(watch.see("alice", "Trash", 300).value_or(0) == 100u);
}

BOOST_AUTO_TEST_SUITE_END()
