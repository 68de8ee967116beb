#include "TestUtil.hpp"
#include "util/PrivateFiles.hpp"

#include <boost/test/unit_test.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <iterator>
#include <string>

using dovewarden::test::TempDir;
using dovewarden::util::create_private_file;
using dovewarden::util::read_secret_file;
using dovewarden::util::read_secret_line;
using dovewarden::util::replace_file;

namespace {

unsigned mode_of(const std::string &path) {
  struct stat status {};
  BOOST_REQUIRE(::stat(path.c_str(), &status) == 0);
  return status.st_mode & 07777;
}

// no temporary file is left behind
std::size_t entries(const std::string &directory) {
  return static_cast<std::size_t>(
      std::distance(std::filesystem::directory_iterator(directory),
                    std::filesystem::directory_iterator()));
}

} // namespace

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

BOOST_AUTO_TEST_CASE(read_secret_file_reads_at_most_max_bytes) {
  const TempDir dir;
  const auto path = dir.write("key", "line one\nline two\n");
  ::chmod(path.c_str(), 0600);
  BOOST_TEST(*read_secret_file(path, 100, true) == "line one\nline two\n");
  BOOST_TEST(*read_secret_file(path, 4, true) == "line");
  ::chmod(path.c_str(), 0604);
  const auto refused = read_secret_file(path, 100, true);
  BOOST_REQUIRE(!refused);
  BOOST_TEST(refused.error().mode == 0604u);
}

BOOST_AUTO_TEST_CASE(create_private_file_writes_a_new_file_0600) {
  const TempDir dir;
  const auto path = dir.path() + "/new";
  BOOST_REQUIRE(create_private_file(path, "secret\n"));
  BOOST_TEST(dovewarden::test::read_file(path) == "secret\n");
  BOOST_TEST(mode_of(path) == 0600u);
  BOOST_TEST(entries(dir.path()) == 1u);
}

BOOST_AUTO_TEST_CASE(create_private_file_keeps_a_file_that_exists) {
  const TempDir dir;
  const auto path = dir.write("old", "first\n");
  BOOST_REQUIRE(create_private_file(path, "second\n"));
  BOOST_TEST(dovewarden::test::read_file(path) == "first\n");
  BOOST_TEST(entries(dir.path()) == 1u);
}

BOOST_AUTO_TEST_CASE(create_private_file_says_why_it_cannot) {
  const TempDir dir;
  const auto refused = create_private_file(dir.path() + "/no/file", "x");
  BOOST_REQUIRE(!refused);
  BOOST_TEST(refused.error().find(dir.path() + "/no/file") !=
             std::string::npos);
}

BOOST_AUTO_TEST_CASE(replace_file_replaces_a_file_whole_with_its_mode) {
  const TempDir dir;
  const auto path = dir.write("public", "old contents, longer\n");
  ::chmod(path.c_str(), 0600);
  BOOST_REQUIRE(replace_file(path, "new\n", 0644));
  BOOST_TEST(dovewarden::test::read_file(path) == "new\n");
  BOOST_TEST(mode_of(path) == 0644u);
  BOOST_TEST(entries(dir.path()) == 1u);
}

BOOST_AUTO_TEST_SUITE_END()
