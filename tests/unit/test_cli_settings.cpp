#include "TestUtil.hpp"
#include "cli/Settings.hpp"

#include <boost/test/unit_test.hpp>

#include <map>
#include <optional>
#include <string>

using namespace dovewarden;
using test::TempDir;

namespace {

using Env = std::map<std::string, std::string>;

cli::Settings::EnvLookup lookup(const Env &env) {
  return [env](const char *name) -> std::optional<std::string> {
    const auto it = env.find(name);
    if (it == env.end())
      return std::nullopt;
    return it->second;
  };
}

} // namespace

BOOST_AUTO_TEST_SUITE(cli_settings)

BOOST_AUTO_TEST_CASE(settings_from_environment_and_config_file) {
  TempDir dir;
  const auto token_file = dir.write("token", "file-token\n");
  const auto config = dir.write("config", "DOVEWARDEN_ADMIN_ADDR=[::1]:7000\n"
                                          "DOVEWARDEN_ADMIN_TOKEN_FILE=" +
                                              token_file + "\n");
  cli::Settings::Sources sources;
  sources.config_flag = config;
  sources.default_config = "";
  auto settings = cli::Settings::resolve(lookup({}), sources);
  BOOST_REQUIRE(settings);
  BOOST_TEST(settings->host == "::1");
  BOOST_TEST(settings->port == 7000);
  BOOST_TEST(settings->token == "file-token");

  // the environment beats the file, --addr beats both
  settings =
      cli::Settings::resolve(lookup({{"DOVEWARDEN_ADMIN_ADDR", ":7001"},
                                     {"DOVEWARDEN_ADMIN_TOKEN", "env-token"}}),
                             sources);
  BOOST_REQUIRE(settings);
  BOOST_TEST(settings->host == "127.0.0.1");
  BOOST_TEST(settings->port == 7001);
  BOOST_TEST(settings->token == "env-token");
  sources.addr_flag = "localhost:7002";
  settings = cli::Settings::resolve(lookup({}), sources);
  BOOST_REQUIRE(settings);
  BOOST_TEST(settings->host == "localhost");
  BOOST_TEST(settings->port == 7002);
}

BOOST_AUTO_TEST_CASE(settings_default_token_file_in_store_directory) {
  TempDir dir;
  cli::Settings::Sources sources;
  sources.default_config = dir.path() + "/absent";
  sources.default_store = dir.path() + "/absent";
  dir.write("admin.token", "stored-token\n");
  auto settings = cli::Settings::resolve(
      lookup({{"DOVEWARDEN_STORE_PATH", dir.path()}}), sources);
  BOOST_REQUIRE(settings);
  BOOST_TEST(settings->host == "127.0.0.1");
  BOOST_TEST(settings->port == 9961);
  BOOST_TEST(settings->token == "stored-token");

  settings = cli::Settings::resolve(lookup({}), sources);
  BOOST_REQUIRE(!settings);
  BOOST_TEST(settings.error().exit_code == cli::k_exit_no_permission);
  BOOST_TEST(settings.error().message ==
             "cannot read " + dir.path() +
                 "/absent/admin.token: No such file or directory; "
                 "dovewardend creates it when it starts (in "
                 "DOVEWARDEN_STORE_PATH); or set DOVEWARDEN_ADMIN_TOKEN_FILE "
                 "to a token file you can read, or DOVEWARDEN_ADMIN_TOKEN, in "
                 "the environment or the --config file");
}

BOOST_AUTO_TEST_CASE(settings_say_what_to_do_about_an_unreadable_token) {
  TempDir dir;
  cli::Settings::Sources sources;
  sources.default_config = "";
  // a directory exists but cannot be read as a token file, as a file of
  // mode 0600 cannot by another user (which root, running the tests, is not)
  const auto settings = cli::Settings::resolve(
      lookup({{"DOVEWARDEN_ADMIN_TOKEN_FILE", dir.path()}}), sources);
  BOOST_REQUIRE(!settings);
  BOOST_TEST(settings.error().exit_code == cli::k_exit_no_permission);
  BOOST_TEST(settings.error().message.find(
                 "; run as root (the file is dovewardend's, mode 0600), or set "
                 "DOVEWARDEN_ADMIN_TOKEN_FILE to a token file you can read, "
                 "or DOVEWARDEN_ADMIN_TOKEN, in the environment or the "
                 "--config file") != std::string::npos,
             settings.error().message);

  const auto missing = cli::Settings::resolve(
      lookup({{"DOVEWARDEN_ADMIN_TOKEN_FILE", dir.path() + "/none"}}), sources);
  BOOST_REQUIRE(!missing);
  BOOST_TEST(missing.error().message ==
             "cannot read " + dir.path() +
                 "/none: No such file or directory; set "
                 "DOVEWARDEN_ADMIN_TOKEN_FILE to a token file you can read, "
                 "or DOVEWARDEN_ADMIN_TOKEN, in the environment or the "
                 "--config file");
}

BOOST_AUTO_TEST_CASE(settings_refuse_bad_address_and_config) {
  cli::Settings::Sources sources;
  sources.default_config = "";
  sources.addr_flag = "nowhere";
  auto settings = cli::Settings::resolve(
      lookup({{"DOVEWARDEN_ADMIN_TOKEN", "t"}}), sources);
  BOOST_REQUIRE(!settings);
  BOOST_TEST(settings.error().exit_code == cli::k_exit_usage);
  sources.addr_flag = "";
  sources.config_flag = "/nonexistent/config";
  settings = cli::Settings::resolve(lookup({{"DOVEWARDEN_ADMIN_TOKEN", "t"}}),
                                    sources);
  BOOST_REQUIRE(!settings);
  BOOST_TEST(settings.error().exit_code == cli::k_exit_usage);
  BOOST_TEST(settings.error().message.find("/nonexistent/config") !=
             std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()
