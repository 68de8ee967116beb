#include "store/Priority.hpp"

#include <boost/test/unit_test.hpp>

using namespace dovewarden::store;

BOOST_AUTO_TEST_SUITE(priority)

BOOST_AUTO_TEST_CASE(names_read_back) {
  for (int i = 0; i < k_priority_count; i++) {
    const auto priority = static_cast<Priority>(i);
    BOOST_TEST((parse_priority(priority_name(priority)) == priority));
  }
  BOOST_TEST(!parse_priority("urgent"));
}

BOOST_AUTO_TEST_CASE(a_stored_value_out_of_range_is_none) {
  BOOST_TEST((priority_of(2) == Priority::high));
  BOOST_TEST((priority_of(3) == Priority::sync));
  BOOST_TEST((priority_of(4) == Priority::none));
  BOOST_TEST((priority_of(-1) == Priority::none));
}

BOOST_AUTO_TEST_SUITE_END()
