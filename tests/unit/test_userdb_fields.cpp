// What replication reads of doveadm's `user` answer, as Dovecot 2.3.19 and
// 2.4.1 gave it.
#include "replication/UserdbFields.hpp"

#include <boost/test/unit_test.hpp>
#include <nlohmann/json.hpp>

using dovewarden::replication::DoveadmFailure;
using dovewarden::replication::has_noreplicate;
using dovewarden::replication::userdb_fields_of;
using dovewarden::replication::UserdbFields;
using nlohmann::json;

BOOST_AUTO_TEST_SUITE(userdb_fields)

BOOST_AUTO_TEST_CASE(noreplicate_is_read_as_2_3s_doveadm_read_it) {
  BOOST_TEST(!has_noreplicate({}));
  BOOST_TEST(!has_noreplicate({{"noreplicatex", "yes"}}));
  // any value but one starting with n, N, 0, f or F; an empty one too
  for (const char *yes : {"yes", "y", "1", "true", "TRUE", ""})
    BOOST_TEST(has_noreplicate({{"noreplicate", yes}}), yes);
  for (const char *no : {"no", "No", "0", "false", "F", "never"})
    BOOST_TEST(!has_noreplicate({{"noreplicate", no}}), no);
}

BOOST_AUTO_TEST_CASE(the_fields_of_the_user_asked_for_are_read) {
  // 2.4.1's answer for a user whose userdb name differs from the one asked
  const auto payload = json::parse(
      R"({"ALICE":{"user":"alice","uid":"5000","gid":"5000",
          "home":"/srv/mail/alice","mail_path":"/srv/mail/alice/Maildir",
          "noreplicate":"yes"}})");
  const auto fields = userdb_fields_of(payload, "ALICE");
  BOOST_REQUIRE(fields);
  BOOST_TEST(fields->size() == 6u);
  BOOST_TEST(fields->at("user") == "alice");
  BOOST_TEST(fields->at("home") == "/srv/mail/alice");
  BOOST_TEST(has_noreplicate(*fields));
  // values that are not strings are kept as their JSON
  const auto odd = userdb_fields_of(
      json::parse(R"({"bob":{"uid":5000,"quota":null}})"), "bob");
  BOOST_REQUIRE(odd);
  BOOST_TEST(odd->at("uid") == "5000");
  BOOST_TEST(odd->at("quota") == "null");
}

BOOST_AUTO_TEST_CASE(other_shapes_are_protocol_failures) {
  for (const char *text :
       {R"([])", R"("alice")", R"({"bob":{"uid":"1"}})", R"({"alice":"5000"})",
        R"({"userList":["alice"]})"}) {
    BOOST_TEST_CONTEXT(text) {
      const auto fields = userdb_fields_of(json::parse(text), "alice");
      BOOST_REQUIRE(!fields);
      BOOST_TEST(static_cast<int>(fields.error().kind) ==
                 static_cast<int>(DoveadmFailure::Kind::protocol));
      BOOST_TEST(fields.error().message.rfind("doveadm user: ", 0) == 0u);
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()
