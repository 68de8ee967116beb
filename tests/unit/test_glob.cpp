#include "util/Glob.hpp"

#include <boost/test/unit_test.hpp>

using dovewarden::util::glob_match;

BOOST_AUTO_TEST_SUITE(glob)

BOOST_AUTO_TEST_CASE(glob_star_and_question_mark) {
  BOOST_TEST(glob_match("*", ""));
  BOOST_TEST(glob_match("*", "message.new"));
  BOOST_TEST(glob_match("message.*", "message.new"));
  BOOST_TEST(glob_match("message.*", "message."));
  BOOST_TEST(!glob_match("message.*", "message"));
  BOOST_TEST(!glob_match("message.*", "mailbox.create"));
  BOOST_TEST(glob_match("*.create", "mailbox.create"));
  BOOST_TEST(glob_match("m*x.*e", "mailbox.create"));
  BOOST_TEST(!glob_match("m*x.*e", "mailbox.rename2"));
  BOOST_TEST(glob_match("flags.s?t", "flags.set"));
  BOOST_TEST(!glob_match("flags.s?t", "flags.st"));
  BOOST_TEST(glob_match("imap_command_finished", "imap_command_finished"));
  BOOST_TEST(!glob_match("imap_command", "imap_command_finished"));
  BOOST_TEST(glob_match("a*b*c", "aXbYbZc"));
  BOOST_TEST(!glob_match("a*b*c", "aXbYbZ"));
  BOOST_TEST(glob_match("**", "x"));
  BOOST_TEST(!glob_match("", "x"));
  BOOST_TEST(glob_match("", ""));
}

BOOST_AUTO_TEST_SUITE_END()
