#include "filter/TypeFilter.hpp"

#include <boost/test/unit_test.hpp>

using namespace dovewarden;

BOOST_AUTO_TEST_SUITE(type_filter)

BOOST_AUTO_TEST_CASE(comma_separated_globs) {
  const auto filter = filter::TypeFilter::parse("message.*, flags.*");
  BOOST_REQUIRE(filter);
  BOOST_TEST(filter->matches_type("message.new"));
  BOOST_TEST(filter->matches_type("flags.clear"));
  BOOST_TEST(!filter->matches_type("mailbox.create"));
  BOOST_TEST(!filter->matches_type("imap_command_finished"));
  BOOST_TEST(filter->describe() == "message.*,flags.*");
}

BOOST_AUTO_TEST_CASE(star_matches_everything) {
  const auto filter = filter::TypeFilter::parse("*");
  BOOST_REQUIRE(filter);
  BOOST_TEST(filter->matches_type("anything.at.all"));
  core::Event event;
  event.message.type = "daemon.started";
  BOOST_TEST(filter->matches(event));
}

BOOST_AUTO_TEST_CASE(reads_are_selected_by_their_name_only) {
  for (const auto *globs : {"*", "message.*", "message.o*", "*.open"}) {
    const auto filter = filter::TypeFilter::parse(globs);
    BOOST_REQUIRE(filter);
    BOOST_TEST(!filter->matches_type("message.open"), globs);
  }
  const auto named = filter::TypeFilter::parse("message.*,message.open");
  BOOST_REQUIRE(named);
  BOOST_TEST(named->matches_type("message.open"));
  BOOST_TEST(named->matches_type("message.new"));
}

BOOST_AUTO_TEST_CASE(bad_filters_are_refused) {
  BOOST_TEST(!filter::TypeFilter::parse("").has_value());
  BOOST_TEST(!filter::TypeFilter::parse(" , ,").has_value());
  BOOST_TEST(!filter::TypeFilter::parse("message.* flags.*").has_value());
}

BOOST_AUTO_TEST_SUITE_END()
