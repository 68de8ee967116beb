#include "util/PathPattern.hpp"

#include <boost/test/unit_test.hpp>

#include <stdexcept>
#include <string>
#include <vector>

using dovewarden::util::PathPattern;

namespace {

using Captures = std::vector<std::string>;

// Returns what pattern captures from path, or {"no match"}.
Captures captured(const std::string &pattern, const std::string &path) {
  Captures captures;
  if (!PathPattern(pattern).match(path, captures))
    return {"no match"};
  return captures;
}

const Captures k_no_match{"no match"};

} // namespace

BOOST_AUTO_TEST_SUITE(path_pattern)

BOOST_AUTO_TEST_CASE(literal_text_matches_only_the_whole_path) {
  BOOST_TEST(captured("/events", "/events") == Captures{"/events"},
             boost::test_tools::per_element());
  for (const char *path : {"/event", "/events/", "/eventsx", "", "/Events"})
    BOOST_TEST(captured("/events", path) == k_no_match,
               boost::test_tools::per_element());
  BOOST_TEST(captured("/", "/") == Captures{"/"},
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(a_segment_placeholder_takes_one_non_empty_segment) {
  const std::string pattern = "/v1/webhooks/{}/deliveries";
  BOOST_TEST(captured(pattern, "/v1/webhooks/ab12/deliveries") ==
                 (Captures{"/v1/webhooks/ab12/deliveries", "ab12"}),
             boost::test_tools::per_element());
  BOOST_TEST(captured(pattern, "/v1/webhooks/a@b c/deliveries") ==
                 (Captures{"/v1/webhooks/a@b c/deliveries", "a@b c"}),
             boost::test_tools::per_element());
  for (const char *path :
       {"/v1/webhooks//deliveries", "/v1/webhooks/a/b/deliveries",
        "/v1/webhooks/a/deliveries/", "/v1/webhooks/a"})
    BOOST_TEST_CONTEXT(path) {
      BOOST_TEST(captured(pattern, path) == k_no_match,
                 boost::test_tools::per_element());
    }
  BOOST_TEST(captured("/v1/webhooks/{}", "/v1/webhooks/id") ==
                 (Captures{"/v1/webhooks/id", "id"}),
             boost::test_tools::per_element());
  BOOST_TEST(captured("/v1/webhooks/{}", "/v1/webhooks/id/test") == k_no_match,
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(a_rest_placeholder_takes_the_rest_slashes_included) {
  const std::string pattern = "/v1/replication/users/{...}";
  for (const std::string user : {"alice", "dave@example.org", "a b@x/y", "/"})
    BOOST_TEST_CONTEXT(user) {
      BOOST_TEST(captured(pattern, "/v1/replication/users/" + user) ==
                     (Captures{"/v1/replication/users/" + user, user}),
                 boost::test_tools::per_element());
    }
  BOOST_TEST(captured(pattern, "/v1/replication/users/") == k_no_match,
             boost::test_tools::per_element());
  BOOST_TEST(captured(pattern, "/v1/replication/users") == k_no_match,
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(a_rest_placeholder_before_the_end_is_refused) {
  BOOST_CHECK_THROW(PathPattern("/v1/{...}/x"), std::invalid_argument);
}

BOOST_AUTO_TEST_CASE(captures_are_left_alone_without_a_match) {
  Captures captures{"before"};
  BOOST_TEST(!PathPattern("/v1/webhooks/{}").match("/v1/other/x", captures));
  BOOST_TEST(captures == Captures{"before"}, boost::test_tools::per_element());
}

// a path as long as a head may be, and longer: std::regex recursed once per
// character and overflowed the stack near 25,000
BOOST_AUTO_TEST_CASE(a_path_of_a_megabyte_matches_without_recursion) {
  const std::string user(1024 * 1024, 'a');
  BOOST_TEST(
      captured("/v1/replication/users/{...}", "/v1/replication/users/" + user)
          .at(1) == user);
  const std::string id(16 * 1024, 'b');
  BOOST_TEST(
      captured("/v1/webhooks/{}/test", "/v1/webhooks/" + id + "/test").at(1) ==
      id);
  BOOST_TEST(captured("/events", "/events" + user) == k_no_match,
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_SUITE_END()
