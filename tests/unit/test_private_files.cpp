#include "TestUtil.hpp"
#include "util/PrivateFiles.hpp"

#include <boost/test/unit_test.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <string>

using dovewarden::test::TempDir;
using dovewarden::util::read_secret_line;

BOOST_AUTO_TEST_SUITE(private_files)

BOOST_AUTO_TEST_CASE(read_secret_line_returns_the_first_line_trimmed) {
  const TempDir dir;
  const auto path = dir.write("secret", " \tsecret-token \r\nsecond line\n");
  ::chmod(path.c_str(), 0600);
  const auto line = read_secret_line(path, true);
  BOOST_REQUIRE(line);
  BOOST_TEST(*line == "secret-token");
  BOOST_TEST(*read_secret_line(dir.write("empty", ""), false) == "");
}

BOOST_AUTO_TEST_CASE(read_secret_line_reads_at_most_4_kib) {
  const TempDir dir;
  const auto line =
      read_secret_line(dir.write("long", std::string(5000, 'k')), false);
  BOOST_REQUIRE(line);
  BOOST_TEST(line->size() == 4096u);
}

BOOST_AUTO_TEST_CASE(read_secret_line_refuses_a_shared_file_if_asked) {
  const TempDir dir;
  const auto path = dir.write("shared", "secret\n");
  ::chmod(path.c_str(), 0640);
  const auto refused = read_secret_line(path, true);
  BOOST_REQUIRE(!refused);
  BOOST_TEST(refused.error().errnum == 0);
  BOOST_TEST(refused.error().mode == 0640u);
  BOOST_TEST(*read_secret_line(path, false) == "secret");
}

BOOST_AUTO_TEST_CASE(read_secret_line_refuses_a_link_if_asked) {
  const TempDir dir;
  const auto path = dir.write("secret", "secret\n");
  ::chmod(path.c_str(), 0600);
  const auto link = dir.path() + "/link";
  BOOST_REQUIRE(::symlink(path.c_str(), link.c_str()) == 0);
  const auto refused = read_secret_line(link, true);
  BOOST_REQUIRE(!refused);
  BOOST_TEST(refused.error().errnum == ELOOP);
  BOOST_TEST(*read_secret_line(link, false) == "secret");
}

BOOST_AUTO_TEST_CASE(read_secret_line_says_why_a_file_cannot_be_read) {
  const TempDir dir;
  const auto missing = read_secret_line(dir.path() + "/missing", false);
  BOOST_REQUIRE(!missing);
  BOOST_TEST(missing.error().errnum == ENOENT);
}

BOOST_AUTO_TEST_SUITE_END()
