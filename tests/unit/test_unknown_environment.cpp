#include "config/UnknownEnvironment.hpp"

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cstdlib>

using dovewarden::config::environment_names;
using dovewarden::config::unknown_environment;

BOOST_AUTO_TEST_SUITE(unknown_environment_suite)

BOOST_AUTO_TEST_CASE(a_dovewarden_variable_that_names_no_setting_is_named) {
  const auto warnings = unknown_environment(
      {"PATH", "DOVEWARDEN_METRICS_ADDR", "DOVEWARDEN_METRIC_ADDR",
       "DOVEWARDEN_CONFIG", "DOVEWARDEN_ADMIN_TOKEN_FILE", "DOVEWARDEN_XYZZY",
       "dovewarden_metrics_addr"});
  BOOST_REQUIRE_EQUAL(warnings.size(), 2u);
  BOOST_TEST(warnings[0] ==
             "environment: ignoring unknown setting DOVEWARDEN_METRIC_ADDR; "
             "did you mean 'DOVEWARDEN_METRICS_ADDR'?");
  BOOST_TEST(warnings[1] ==
             "environment: ignoring unknown setting DOVEWARDEN_XYZZY");
}

BOOST_AUTO_TEST_CASE(environment_names_lists_the_process_environment) {
  ::setenv("DOVEWARDEN_UNIT_TEST_NAME", "a=b", 1);
  const auto names = environment_names();
  ::unsetenv("DOVEWARDEN_UNIT_TEST_NAME");
  BOOST_TEST(
      std::count(names.begin(), names.end(), "DOVEWARDEN_UNIT_TEST_NAME") == 1);
}

BOOST_AUTO_TEST_SUITE_END()
