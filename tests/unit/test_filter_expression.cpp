#include "filter/FilterExpression.hpp"

#include <boost/test/unit_test.hpp>

#include <cstdint>
#include <string>

namespace dw = dovewarden;
using dw::filter::FilterExpression;

namespace {

dw::core::Event new_mail() {
  dw::core::Event e;
  e.message.type = "message.new";
  e.source = "zmq";
  e.message.set("user", std::string("alice@example.com"));
  e.message.set("mailbox", std::string("INBOX"));
  e.message.set("uid", std::uint64_t{42});
  e.message.set("size", std::int64_t{2048});
  e.message.set("keywords", dw::wire::Strings{"$Forwarded", "Work"});
  e.message.set("seen", true);
  return e;
}

dw::core::Event abc(std::int64_t a, std::int64_t b, std::int64_t c) {
  dw::core::Event e;
  e.message.type = "test";
  e.message.set("a", a);
  e.message.set("b", b);
  e.message.set("c", c);
  return e;
}

// Returns whether text matches event; fails the test if text does not parse.
bool match(const std::string &text, const dw::core::Event &event) {
  const auto filter = FilterExpression::parse(text);
  BOOST_TEST_REQUIRE(
      filter.has_value(),
      text << ": " << (filter ? std::string() : filter.error().message()));
  return (*filter)->matches(event);
}

bool match(const std::string &text) { return match(text, new_mail()); }

void check_error(const std::string &text, std::size_t position,
                 const std::string &reason) {
  const auto filter = FilterExpression::parse(text);
  BOOST_TEST_REQUIRE(!filter.has_value(), text << " parsed");
  BOOST_TEST(filter.error().position == position, text);
  BOOST_TEST(filter.error().reason.find(reason) != std::string::npos,
             text << ": " << filter.error().reason);
}

} // namespace

BOOST_AUTO_TEST_SUITE(filter_expression)

BOOST_AUTO_TEST_CASE(user_and_mailbox) {
  const std::string text = "user=*@example.com AND mailbox=INBOX";
  BOOST_TEST(match(text));
  auto sent = new_mail();
  sent.message.set("mailbox", std::string("Sent"));
  BOOST_TEST(!match(text, sent));
  auto bob = new_mail();
  bob.message.set("user", std::string("bob@example.org"));
  BOOST_TEST(!match(text, bob));
}

BOOST_AUTO_TEST_CASE(event_type_and_source) {
  BOOST_TEST(match("event=message.*"));
  BOOST_TEST(match("event=message.new"));
  BOOST_TEST(match("event=MESSAGE.NEW"));
  BOOST_TEST(!match("event=flags.*"));
  BOOST_TEST(!match("event=message"));
  BOOST_TEST(match("source=zmq"));
  BOOST_TEST(!match("source=http"));
  BOOST_TEST(match("event=flags.* OR event=message.* AND source=z?q"));
}

BOOST_AUTO_TEST_CASE(and_binds_tighter_than_or) {
  const std::string text = "a=1 OR b=2 AND c=3";
  BOOST_TEST(match(text, abc(1, 0, 0)));
  BOOST_TEST(match(text, abc(0, 2, 3)));
  BOOST_TEST(!match(text, abc(0, 2, 0)));
  BOOST_TEST(!match(text, abc(0, 0, 3)));
  BOOST_TEST(match("b=2 AND c=3 OR a=1", abc(1, 0, 0)));
}

BOOST_AUTO_TEST_CASE(parentheses_group) {
  const std::string text = "(a=1 OR b=2) AND c=3";
  BOOST_TEST(!match(text, abc(1, 0, 0)));
  BOOST_TEST(match(text, abc(1, 0, 3)));
  BOOST_TEST(match(text, abc(0, 2, 3)));
  BOOST_TEST(match("((a=1))", abc(1, 0, 0)));
  BOOST_TEST(match("(a=1)AND(b=2)", abc(1, 2, 0)));
  BOOST_TEST(!match("a=1 AND (b=2 OR c=3)", abc(1, 0, 0)));
}

BOOST_AUTO_TEST_CASE(not_binds_tightest) {
  BOOST_TEST(!match("NOT mailbox=INBOX"));
  BOOST_TEST(match("NOT NOT mailbox=INBOX"));
  BOOST_TEST(match("NOT mailbox=Sent"));
  // (NOT a=1) AND b=2, not NOT (a=1 AND b=2)
  BOOST_TEST(!match("NOT a=1 AND b=2", abc(0, 0, 0)));
  BOOST_TEST(match("NOT a=1 AND b=2", abc(0, 2, 0)));
  BOOST_TEST(match("NOT (a=1 AND b=2)", abc(0, 0, 0)));
  BOOST_TEST(!match("NOT (a=1 OR b=2)", abc(0, 2, 0)));
}

BOOST_AUTO_TEST_CASE(keywords_are_case_insensitive) {
  BOOST_TEST(match("user=nobody or mailbox=INBOX"));
  BOOST_TEST(!match("user=nobody Or mailbox=Sent"));
  BOOST_TEST(!match("not mailbox=INBOX aNd user=*"));
}

BOOST_AUTO_TEST_CASE(values_compare_case_insensitively) {
  BOOST_TEST(match("user=ALICE@Example.COM"));
  BOOST_TEST(match("mailbox=inbox"));
  BOOST_TEST(match("user=A*@EXAMPLE.com"));
}

BOOST_AUTO_TEST_CASE(wildcards) {
  BOOST_TEST(match("user=alic?@example.com"));
  BOOST_TEST(!match("user=al?@example.com"));
  BOOST_TEST(match("mailbox=*"));
  BOOST_TEST(match("mailbox=IN*X"));
  BOOST_TEST(match("mailbox=?????"));
  BOOST_TEST(!match("mailbox=????"));
  BOOST_TEST(!match("mailbox=INBOX?"));
  BOOST_TEST(!match("user=alice")); // whole-value match, not substring
  BOOST_TEST(match("user=*example*"));
}

BOOST_AUTO_TEST_CASE(quoted_values) {
  auto e = new_mail();
  e.message.set("mailbox", std::string("Sent Items"));
  e.message.set("subject", std::string("say \"hi\" \\ bye"));
  BOOST_TEST(match("mailbox=\"Sent Items\"", e));
  BOOST_TEST(match("mailbox=\"sent *\"", e));
  BOOST_TEST(!match("mailbox=\"Sent\"", e));
  BOOST_TEST(match(R"(subject="say \"hi\" \\ bye")", e));
  BOOST_TEST(match(R"(subject="*\"hi\"*")", e));
  BOOST_TEST(match(R"(mailbox="Sent Items" AND user="alice@example.com")", e));
  BOOST_TEST(match("\"mailbox\"=\"Sent Items\"", e)); // a quoted key
  e.message.set("flag", std::string("or"));
  BOOST_TEST(match("flag=\"or\"", e)); // a keyword, quoted, is a value
  BOOST_TEST(!match("user=\"\""));
  e.message.set("user", std::string());
  BOOST_TEST(match("user=\"\"", e));
}

BOOST_AUTO_TEST_CASE(non_ascii_bare_values) {
  auto e = new_mail();
  e.message.set("mailbox", std::string("Entw\xc3\xbcrfe"));
  BOOST_TEST(match("mailbox=Entw\xc3\xbcrfe", e));
  BOOST_TEST(match("mailbox=Entw*rfe", e));
  BOOST_TEST(!match("mailbox=INBOX", e));
}

BOOST_AUTO_TEST_CASE(numbers) {
  BOOST_TEST(match("size>1000"));
  BOOST_TEST(match("size>=2048"));
  BOOST_TEST(!match("size>2048"));
  BOOST_TEST(match("size<=2048"));
  BOOST_TEST(!match("size<2048"));
  BOOST_TEST(match("size<4096 AND size>1024"));
  BOOST_TEST(match("size=2048"));
  BOOST_TEST(!match("size=2047"));
  BOOST_TEST(match("size=2*")); // wildcards on the decimal text
  BOOST_TEST(match("size=20?8"));
  BOOST_TEST(!match("size=3*"));
  BOOST_TEST(match("size=\"2048\""));
  BOOST_TEST(match("uid=42")); // unsigned field
  BOOST_TEST(match("uid>-5"));
  BOOST_TEST(!match("uid<0"));
  BOOST_TEST(match("uid<=42 AND uid>41"));
  BOOST_TEST(match("seen=1")); // bool as 0/1
  BOOST_TEST(!match("seen=0"));
  BOOST_TEST(match("seen>0"));

  auto e = new_mail();
  e.message.set("size", std::int64_t{-3});
  BOOST_TEST(match("size<0", e));
  BOOST_TEST(match("size=-3", e));
  e.message.set("uid", std::uint64_t{18446744073709551615ULL});
  BOOST_TEST(match("uid>9223372036854775807", e));
  BOOST_TEST(match("uid=18446744073709551615", e)); // as text
  e.message.set("ratio", 0.5);
  BOOST_TEST(match("ratio<1", e));
  BOOST_TEST(match("ratio>0", e));
  BOOST_TEST(!match("ratio=0", e));
}

BOOST_AUTO_TEST_CASE(numeric_comparisons_on_text_are_false) {
  BOOST_TEST(!match("mailbox>5"));
  BOOST_TEST(!match("mailbox<5"));
  auto e = new_mail();
  e.message.set("size", std::string("2048"));
  BOOST_TEST(!match("size>1000", e));
  BOOST_TEST(match("size=2048", e)); // "=" still compares the text
}

BOOST_AUTO_TEST_CASE(string_lists_match_any_element) {
  BOOST_TEST(match("keywords=work"));
  BOOST_TEST(match("keywords=$forw*"));
  BOOST_TEST(!match("keywords=Junk"));
  BOOST_TEST(!match("keywords>0"));
  BOOST_TEST(match("NOT keywords=Junk"));
  auto e = new_mail();
  e.message.set("keywords", dw::wire::Strings{});
  BOOST_TEST(!match("keywords=*", e));
}

BOOST_AUTO_TEST_CASE(missing_fields_are_false) {
  BOOST_TEST(!match("missing=*"));
  BOOST_TEST(!match("missing>0"));
  BOOST_TEST(!match("missing<0"));
  BOOST_TEST(match("NOT missing=x"));
  auto e = new_mail();
  e.message.set("nothing", nullptr);
  BOOST_TEST(!match("nothing=*", e));
  BOOST_TEST(!match("nothing=0", e));
}

BOOST_AUTO_TEST_CASE(describe_returns_the_text) {
  const std::string text = "  user=*@example.com  AND (mailbox=\"a b\")";
  const auto filter = FilterExpression::parse(text);
  BOOST_TEST_REQUIRE(filter.has_value());
  BOOST_TEST((*filter)->describe() == text);
}

BOOST_AUTO_TEST_CASE(errors_give_position_and_reason) {
  check_error("", 0, "empty filter");
  check_error("   ", 0, "empty filter");
  check_error("user=", 5, "expected a value after \"=\"");
  check_error("mailbox=INBOX AND user=", 23, "expected a value after \"=\"");
  check_error("user= OR a=1", 6, "expected a value after \"=\"");
  check_error("flag=OR", 5, "quote \"OR\" to compare with the word");
  check_error("user=a OR", 9, "expected a condition");
  check_error("OR user=a", 0, "unexpected \"OR\"");
  check_error("user=a AND AND b=1", 11, "unexpected \"AND\"");
  check_error("(user=a", 0, "unbalanced parenthesis");
  check_error("((user=a)", 0, "unbalanced parenthesis");
  check_error("user=a)", 6, "unbalanced parenthesis");
  check_error("user=a AND ()", 12, "unexpected \")\"");
  check_error("mailbox=\"INBOX", 8, "unterminated quoted string");
  check_error("mailbox=\"INBOX\\\"", 8, "unterminated quoted string");
  check_error("size<big", 5, "\"<\" needs a number");
  check_error("size>=1.5", 6, "\">=\" needs a number");
  check_error("size>\"\"", 5, "\">\" needs a number");
  check_error("category=mail", 0,
              "categories are not used by dovewarden events; use event=");
  check_error("user=a & mailbox=b", 7, "unexpected character \"&\"");
  check_error("user=a mailbox=b", 7, "join conditions with AND or OR");
  check_error("(user=a mailbox=b)", 8, "expected AND, OR or \")\"");
  check_error("user", 4, "expected \"=\"");
  check_error("user mailbox", 5, "expected \"=\"");
  check_error("us*r=a", 0, "is not a field name");
  check_error("user@host=a", 0, "is not a field name");
  check_error("\"\"=a", 0, "empty field name");
  check_error("event>3", 5, "can only be compared with \"=\"");
  check_error("source<=3", 6, "can only be compared with \"=\"");
  check_error("=a", 0, "unexpected \"=\"");
  check_error("user=a AND NOT", 14, "expected a condition");
}

BOOST_AUTO_TEST_CASE(message_names_the_position) {
  const auto filter = FilterExpression::parse("user=a OR mailbox=");
  BOOST_TEST_REQUIRE(!filter.has_value());
  BOOST_TEST(filter.error().message() ==
             "at position 18: expected a value after \"=\"");
}

BOOST_AUTO_TEST_CASE(hostile_input_is_refused) {
  std::string nested_ok = std::string(32, '(') + "a=1" + std::string(32, ')');
  BOOST_TEST(match(nested_ok, abc(1, 0, 0)));
  check_error(std::string(33, '(') + "a=1" + std::string(33, ')'), 32,
              "nested deeper than 32");
  check_error(std::string(4000, '('), 32, "nested deeper than 32");

  std::string nots;
  for (int i = 0; i < 40; i++)
    nots += "NOT ";
  check_error(nots + "a=1", 32 * 4, "nested deeper than 32");

  check_error(std::string(5000, '('), 4096, "longer than 4096");
  std::string long_chain = "a=1";
  while (long_chain.size() + 8 <= 4096)
    long_chain += " OR a=1";
  BOOST_TEST(match(long_chain, abc(1, 0, 0)));
  BOOST_TEST(!match(long_chain, abc(0, 0, 0)));
}

BOOST_AUTO_TEST_SUITE_END()
