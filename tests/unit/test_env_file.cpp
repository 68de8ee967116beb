#include "config/EnvFile.hpp"
#include "util/ConfigError.hpp"

#include <boost/test/unit_test.hpp>

#include <string>

using dovewarden::config::EnvFile;
using dovewarden::util::ConfigError;

BOOST_AUTO_TEST_SUITE(env_file)

BOOST_AUTO_TEST_CASE(env_file_syntax) {
  const auto file = EnvFile::parse("\n"
                                   "  # comment\n"
                                   "A=plain\n"
                                   "B='single # kept'\n"
                                   "C=\"double \\\"quoted\\\"\"\n"
                                   "D=\n"
                                   "E=x#not-a-comment\n"
                                   "A=last wins\r\n",
                                   "test");
  BOOST_TEST(*file.get("A") == "last wins");
  BOOST_TEST(*file.get("B") == "single # kept");
  BOOST_TEST(*file.get("C") == "double \"quoted\"");
  BOOST_TEST(*file.get("D") == "");
  BOOST_TEST(*file.get("E") == "x#not-a-comment");
  BOOST_TEST(!file.get("F").has_value());
}

BOOST_AUTO_TEST_CASE(env_file_errors_name_the_line) {
  auto error = [](const char *text) -> std::string {
    try {
      EnvFile::parse(text, "f");
    } catch (const ConfigError &e) {
      return e.what();
    }
    return "";
  };
  BOOST_TEST(error("A=1\nno equals sign\n") == "f:2: expected KEY=value");
  BOOST_TEST(error("1A=x") == "f:1: invalid name \"1A\"");
  BOOST_TEST(error("A=\"open") == "f:1: unterminated quote");
}

BOOST_AUTO_TEST_SUITE_END()
