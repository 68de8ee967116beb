#include "TestUtil.hpp"
#include "admin/AdminToken.hpp"

#include <boost/test/unit_test.hpp>

#include <sys/stat.h>

#include <filesystem>
#include <iterator>
#include <string>

using dovewarden::admin::AdminToken;
using dovewarden::test::read_file;
using dovewarden::test::TempDir;

BOOST_AUTO_TEST_SUITE(admin_token)

BOOST_AUTO_TEST_CASE(token_from_environment_value) {
  const auto token =
      AdminToken::load("from-env", "/nonexistent", "/nonexistent");
  BOOST_REQUIRE(token);
  BOOST_TEST(token->verify("from-env"));
  BOOST_TEST(!token->verify("from-enw"));
  BOOST_TEST(!token->verify("from-env2"));
  BOOST_TEST(!token->verify(""));
  BOOST_TEST(token->origin() == "DOVEWARDEN_ADMIN_TOKEN");
}

BOOST_AUTO_TEST_CASE(empty_token_is_refused) {
  BOOST_TEST(!AdminToken::load(" ", "", "/x"));
  TempDir dir;
  const auto file = dir.write("token", "\n");
  const auto token = AdminToken::load("", file, dir.path());
  BOOST_REQUIRE(!token);
  BOOST_TEST(token.error().find(file) != std::string::npos);
}

BOOST_AUTO_TEST_CASE(token_from_named_file) {
  TempDir dir;
  const auto file = dir.write("token", "  from-file \r\nsecond line\n");
  const auto token = AdminToken::load("", file, dir.path());
  BOOST_REQUIRE(token);
  BOOST_TEST(token->verify("from-file"));
  BOOST_TEST(!token->verify("second line"));
  BOOST_TEST(token->origin() == file);
  // the named file is never created
  BOOST_TEST(!std::filesystem::exists(dir.path() + "/admin.token"));
}

BOOST_AUTO_TEST_CASE(missing_named_file_is_an_error) {
  TempDir dir;
  const auto token = AdminToken::load("", dir.path() + "/none", dir.path());
  BOOST_REQUIRE(!token);
  BOOST_TEST(token.error().find(dir.path() + "/none") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(token_generated_once_into_store_directory) {
  TempDir dir;
  const auto path = dir.path() + "/admin.token";
  const auto first = AdminToken::load("", "", dir.path());
  BOOST_REQUIRE(first);
  BOOST_TEST(first->origin() == path);
  BOOST_TEST(first->generated(), "the start-up line says so");
  struct stat info {};
  BOOST_REQUIRE(::stat(path.c_str(), &info) == 0);
  BOOST_TEST((info.st_mode & 07777) == 0600u);
  const auto text = read_file(path);
  BOOST_REQUIRE(text.size() == 65u);
  BOOST_TEST(text.back() == '\n');
  const auto secret = text.substr(0, 64);
  BOOST_TEST(secret.find_first_not_of("0123456789abcdef") == std::string::npos);
  BOOST_TEST(first->verify(secret));

  const auto second = AdminToken::load("", "", dir.path());
  BOOST_REQUIRE(second);
  BOOST_TEST(second->verify(secret));
  BOOST_TEST(!second->generated());
  BOOST_TEST(read_file(path) == text);
  // nothing but the token file is left behind
  BOOST_TEST(std::distance(std::filesystem::directory_iterator(dir.path()),
                           std::filesystem::directory_iterator()) == 1);
}

BOOST_AUTO_TEST_CASE(unwritable_store_directory_is_an_error) {
  const auto token = AdminToken::load("", "", "/nonexistent/dir");
  BOOST_REQUIRE(!token);
  BOOST_TEST(token.error().find("/nonexistent/dir") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(generated_tokens_differ) {
  BOOST_TEST(AdminToken::generate() != AdminToken::generate());
}

BOOST_AUTO_TEST_SUITE_END()
