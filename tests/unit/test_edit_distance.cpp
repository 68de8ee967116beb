#include "util/EditDistance.hpp"

#include <boost/test/unit_test.hpp>

using dovewarden::util::did_you_mean;
using dovewarden::util::edit_distance;
using dovewarden::util::nearest_name;

BOOST_AUTO_TEST_SUITE(edit_distance_suite)

BOOST_AUTO_TEST_CASE(edit_distance_counts_each_kind_of_edit) {
  BOOST_TEST(edit_distance("", "") == 0u);
  BOOST_TEST(edit_distance("abc", "") == 3u);
  BOOST_TEST(edit_distance("", "abc") == 3u);
  BOOST_TEST(edit_distance("message.new", "message.new") == 0u);
  BOOST_TEST(edit_distance("mesage.new", "message.new") == 1u);   // insertion
  BOOST_TEST(edit_distance("messsage.new", "message.new") == 1u); // deletion
  BOOST_TEST(edit_distance("message.mew", "message.new") == 1u); // substitution
  BOOST_TEST(edit_distance("mesasge.new", "message.new") == 1u); // swap
  BOOST_TEST(edit_distance("kitten", "sitting") == 3u);
  BOOST_TEST(edit_distance("User", "user") == 0u); // case is no edit
}

BOOST_AUTO_TEST_CASE(nearest_name_suggests_only_close_names) {
  const std::vector<std::string_view> types{"message.new", "message.append",
                                            "mailbox.create"};
  BOOST_TEST(nearest_name("mesage.new", types).value() == "message.new");
  BOOST_TEST(nearest_name("mailbox.craete", types).value() == "mailbox.create");
  BOOST_TEST(!nearest_name("replication.failed", types));
  BOOST_TEST(!nearest_name("x", {}));
  // a short name gets one edit at most
  BOOST_TEST(nearest_name("usr", {"user"}).value() == "user");
  BOOST_TEST(!nearest_name("ip", {"uid"}));
}

BOOST_AUTO_TEST_CASE(did_you_mean_is_empty_without_a_near_name) {
  BOOST_TEST(did_you_mean("mesage.new", {"message.new"}) ==
             "; did you mean 'message.new'?");
  BOOST_TEST(did_you_mean("zzz", {"message.new"}) == "");
}

BOOST_AUTO_TEST_SUITE_END()
