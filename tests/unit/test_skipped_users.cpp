#include "replication/SkippedUsers.hpp"

#include <boost/test/unit_test.hpp>

using dovewarden::replication::SkippedUsers;

BOOST_AUTO_TEST_SUITE(skipped_users)

BOOST_AUTO_TEST_CASE(counts_every_skip_and_keeps_the_last_users_once_each) {
  SkippedUsers skipped(3);
  BOOST_TEST(skipped.summary().skipped == 0u);
  BOOST_TEST(skipped.summary().recent.empty());
  for (const char *user : {"a", "b", "a", "c", "d"})
    skipped.add(user);
  const auto summary = skipped.summary();
  BOOST_TEST(summary.skipped == 5u);
  BOOST_TEST(summary.recent == (std::vector<std::string>{"d", "c", "a"}),
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_SUITE_END()
