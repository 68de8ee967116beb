#include "config/Config.hpp"
#include "config/Reference.hpp"
#include "util/ManText.hpp"

#include <boost/test/unit_test.hpp>

#include <sstream>
#include <stdexcept>

using dovewarden::config::Config;
namespace config = dovewarden::config;
namespace man = dovewarden::util::man;

namespace {

std::string help_text() {
  std::vector<const char *> argv{"dovewardend", "--help"};
  std::ostringstream out;
  Config::from_command_line(
      2, argv.data(), [](const char *) { return std::nullopt; }, out);
  return out.str();
}

std::string markers(const char *group, const std::string &inside) {
  return std::string("<!-- settings: ") + group +
         " (generated: make reference) -->\n" + inside +
         "<!-- end of settings: " + group + " -->\n";
}

std::string page_with_every_group(const std::string &inside) {
  std::string page = "# hand-written\n";
  for (const auto &group : config::setting_groups())
    page += markers(group.name, inside) + "prose about " + group.name + "\n";
  return page;
}

} // namespace

BOOST_AUTO_TEST_SUITE(reference)

BOOST_AUTO_TEST_CASE(help_man_page_and_reference_list_the_same_settings) {
  const auto help = help_text();
  const auto page = config::daemon_man_page();
  const auto reference =
      config::fill_configuration_reference(page_with_every_group(""));
  const auto in_help_and_man_page = [&](const dovewarden::util::Setting &s) {
    BOOST_TEST_CONTEXT(s.env) {
      BOOST_TEST(help.find(std::string(s.flag) + " " + s.metavar + " (env " +
                           s.env + ")") != std::string::npos);
      BOOST_TEST(page.find("\\fB" + man::escape(s.flag) + "\\fR \\fI" +
                           man::escape(s.metavar) + "\\fR\n") !=
                 std::string::npos);
      BOOST_TEST(page.find("Environment: \\fB" + man::escape(s.env)) !=
                 std::string::npos);
    }
  };
  in_help_and_man_page(config::k_config_file_setting);
  for (const auto &group : config::setting_groups()) {
    for (const auto &setting : group.settings) {
      in_help_and_man_page(setting);
      BOOST_TEST_CONTEXT(setting.env) {
        BOOST_TEST(reference.find(std::string("| `") + setting.env + "` | `" +
                                  setting.flag + "` |") != std::string::npos);
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(reference_rewrites_only_between_the_markers) {
  const auto filled = config::fill_configuration_reference(
      page_with_every_group("| `DOVEWARDEN_GONE` | `--gone` | | old |\n"));
  BOOST_TEST(filled.find("DOVEWARDEN_GONE") == std::string::npos);
  BOOST_TEST(filled.rfind("# hand-written\n", 0) == 0);
  BOOST_TEST(filled.find("prose about listeners\n") != std::string::npos);
  BOOST_TEST(filled.find("| `DOVEWARDEN_LISTENER_MAX_CONNECTIONS` |") !=
             std::string::npos);
  // a second run changes nothing
  BOOST_TEST(config::fill_configuration_reference(filled) == filled);
}

BOOST_AUTO_TEST_CASE(reference_without_a_groups_markers_is_refused) {
  BOOST_CHECK_EXCEPTION(
      config::fill_configuration_reference(markers("daemon", "")),
      std::runtime_error, [](const std::runtime_error &e) {
        return std::string(e.what()).find("replication") != std::string::npos;
      });
}

BOOST_AUTO_TEST_CASE(man_text_escapes_what_troff_would_read_otherwise) {
  BOOST_TEST(man::text("`--a-b` or C:\\x") == "\\fB\\-\\-a\\-b\\fR or C:\\ex");
  BOOST_TEST(man::text(".hidden") == "\\&.hidden");
  BOOST_TEST(man::text("'quoted'") == "\\&'quoted'");
  BOOST_TEST(man::escape("a,b \xC2\xB1 1 \xE2\x80\xA6") ==
             "a,\\:b \\(+- 1 ...");
}

BOOST_AUTO_TEST_SUITE_END()
