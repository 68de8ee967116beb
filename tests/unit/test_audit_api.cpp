#include "AuditApiFixture.hpp"
#include "MetricValue.hpp"
#include "audit/Chain.hpp"

#include <boost/test/unit_test.hpp>
#include <nlohmann/json.hpp>

#include <string>
#include <tuple>
#include <utility>
#include <vector>

using namespace dovewarden;
using nlohmann::json;
using test::AuditApiFixture;
using test::SqliteAuditApiFixture;

namespace {

// 2026-05-01T12:00:00Z in µs
constexpr std::int64_t k_noon = 1'777'636'800'000'000;
constexpr std::int64_t k_hour = 3'600'000'000;

std::vector<std::uint64_t> seqs(const json &page) {
  std::vector<std::uint64_t> found;
  for (const auto &record : page.at("records"))
    found.push_back(record.at("seq").get<std::uint64_t>());
  return found;
}

// Stores five records of two users, an hour apart from noon.
void add_mail_records(AuditApiFixture &api) {
  audit::Record inbox;
  inbox.mailbox = "INBOX";
  inbox.ip = "192.0.2.7";
  inbox.port = 51234;
  inbox.session = "sess1";
  inbox.service = "imap";
  inbox.uid = 7;
  inbox.uidvalidity = 1700000000;
  inbox.msgid = "<m7@example.com>";
  api.add("user.login", "alice@example.com", k_noon, inbox);
  api.add("message.open", "alice@example.com", k_noon + k_hour, inbox);
  audit::Record trash = inbox;
  trash.mailbox = "Trash";
  trash.ip = "2001:db8::1";
  trash.msgid = "<m8@example.com>";
  api.add("message.expunge", "bob@example.com", k_noon + 2 * k_hour, trash);
  api.add("message.expunge", "alice@example.com", k_noon + 3 * k_hour, inbox);
  api.add("mailbox.delete", "bob@example.com", k_noon + 4 * k_hour, trash);
}

std::string error_of(const std::pair<int, json> &answer) {
  BOOST_TEST(answer.first == 400);
  return answer.second.at("error").get<std::string>();
}

std::string verification(const AuditApiFixture &api, const char *result) {
  const auto value = test::metric_value(
      api.metrics,
      std::string("dovewarden_audit_verifications_total{result=\"") + result +
          "\"}");
  return value ? std::to_string(static_cast<int>(*value)) : "missing";
}

} // namespace

BOOST_AUTO_TEST_SUITE(audit_api)

BOOST_FIXTURE_TEST_CASE(every_route_needs_the_token, SqliteAuditApiFixture) {
  add("user.login", "alice@example.com", k_noon);
  for (const auto *path : {"/v1/audit/records", "/v1/audit/checkpoints",
                           "/v1/audit/head", "/v1/audit/verify"}) {
    BOOST_TEST_CONTEXT(path) {
      BOOST_TEST(get(path, false).first == 401);
      BOOST_TEST(get(path).first == 200);
    }
  }
  BOOST_TEST(verification(*this, "ok") == "1");
}

BOOST_FIXTURE_TEST_CASE(each_filter_narrows_the_records,
                        SqliteAuditApiFixture) {
  add_mail_records(*this);
  const std::vector<std::pair<std::string, std::vector<std::uint64_t>>> cases{
      {"", {1, 2, 3, 4, 5}},
      {"user=alice%40example.com", {1, 2, 4}},
      {"type=message.expunge", {3, 4}},
      {"type=message.%2A", {2, 3, 4}},
      {"type=%2A", {1, 2, 3, 4, 5}},
      {"since=2026-05-01T14:00:00Z", {3, 4, 5}},
      {"until=2026-05-01T14:00:00Z", {1, 2}},
      {"since=1777640400&until=1777647600.5", {2, 3, 4}},
      {"since=2026-05-01T15:00:00%2B02:00", {2, 3, 4, 5}},
      {"mailbox=Trash", {3, 5}},
      {"ip=2001:db8::1", {3, 5}},
      {"msgid=%3Cm7%40example.com%3E", {1, 2, 4}},
      {"user=bob%40example.com&type=mailbox.%2A&mailbox=Trash", {5}},
      {"user=carol%40example.com", {}},
  };
  for (const auto &[query, expected] : cases) {
    BOOST_TEST_CONTEXT(query) {
      const auto [status, page] = get("/v1/audit/records?" + query);
      BOOST_TEST(status == 200);
      BOOST_TEST(seqs(page) == expected, boost::test_tools::per_element());
      BOOST_TEST(page.at("next").is_null());
    }
  }
}

BOOST_FIXTURE_TEST_CASE(a_record_shows_every_field, SqliteAuditApiFixture) {
  audit::Record fields;
  fields.actor = "admin:ops.token";
  fields.ip = "192.0.2.7";
  fields.port = 443;
  fields.session = "s1";
  fields.service = "dovewardend";
  fields.mailbox = "INBOX";
  fields.mailbox_guid = "0123456789abcdef0123456789abcdef";
  fields.uid = 9;
  fields.uidvalidity = 17;
  fields.msgid = "<x@y>";
  fields.outcome = "ok";
  fields.details = R"({"mask":"a*","path":"/v1/replication/replicate"})";
  fields.inst = "inst-1";
  fields.event_seq = 42;
  add("admin.replicate", "a*", k_noon, fields);
  const auto found = store->record(1);
  BOOST_REQUIRE(found);
  BOOST_REQUIRE(found->has_value());
  const auto stored = **found;

  auto [status, page] = get("/v1/audit/records");
  BOOST_REQUIRE(status == 200);
  const auto record = page.at("records").at(0);
  BOOST_TEST(record ==
             json({{"seq", 1},
                   {"time", k_noon},
                   {"operation", "admin.replicate"},
                   {"user", "a*"},
                   {"actor", "admin:ops.token"},
                   {"ip", "192.0.2.7"},
                   {"port", 443},
                   {"session", "s1"},
                   {"service", "dovewardend"},
                   {"mailbox", "INBOX"},
                   {"mailbox_guid", fields.mailbox_guid},
                   {"uid", 9},
                   {"uidvalidity", 17},
                   {"msgid", "<x@y>"},
                   {"outcome", "ok"},
                   {"details",
                    {{"mask", "a*"}, {"path", "/v1/replication/replicate"}}},
                   {"inst", "inst-1"},
                   {"event_seq", 42},
                   {"prev_hash", stored.prev_hash},
                   {"hash", stored.hash}}));

  // the exact text the hash covers, for an export verified again
  page = get("/v1/audit/records?details=text").second;
  BOOST_TEST(page.at("records").at(0).at("details") == fields.details);
  const auto back = audit::record_from_json(page.at("records").at(0));
  BOOST_REQUIRE(back);
  BOOST_TEST((*back == stored));
}

BOOST_FIXTURE_TEST_CASE(pages_follow_seq, SqliteAuditApiFixture) {
  add_mail_records(*this);
  auto page = get("/v1/audit/records?limit=2").second;
  BOOST_TEST(seqs(page) == std::vector<std::uint64_t>({1, 2}),
             boost::test_tools::per_element());
  BOOST_TEST(page.at("next") == 2);
  page = get("/v1/audit/records?limit=2&after=2").second;
  BOOST_TEST(seqs(page) == std::vector<std::uint64_t>({3, 4}),
             boost::test_tools::per_element());
  BOOST_TEST(page.at("next") == 4);
  page = get("/v1/audit/records?limit=2&after=4").second;
  BOOST_TEST(seqs(page) == std::vector<std::uint64_t>({5}),
             boost::test_tools::per_element());
  BOOST_TEST(page.at("next").is_null());

  // a filtered page ends at its last record, not at the limit's seq
  page = get("/v1/audit/records?user=bob%40example.com&limit=1").second;
  BOOST_TEST(seqs(page) == std::vector<std::uint64_t>({3}),
             boost::test_tools::per_element());
  page = get("/v1/audit/records?user=bob%40example.com&limit=1&after=" +
             page.at("next").dump())
             .second;
  BOOST_TEST(seqs(page) == std::vector<std::uint64_t>({5}),
             boost::test_tools::per_element());
}

BOOST_FIXTURE_TEST_CASE(bad_parameters_answer_400_naming_them,
                        SqliteAuditApiFixture) {
  add_mail_records(*this);
  const std::vector<std::pair<std::string, std::string>> cases{
      {"since=yesterday", "since: expected an RFC 3339 time"},
      {"until=2026-02-30T00:00:00Z", "until: expected an RFC 3339 time"},
      {"since=2026-05-02T00:00:00Z&until=2026-05-01T00:00:00Z",
       "since: not before until"},
      {"limit=0", "limit: expected a whole number from 1 to 1000"},
      {"limit=1001", "limit: expected a whole number from 1 to 1000"},
      {"limit=ten", "limit: expected a whole number from 1 to 1000"},
      {"after=-1", "after: expected a whole number"},
      {"type=message.%2A.new", "type: '*' may only end it"},
      {"usr=alice", "unknown parameter \"usr\""},
      {"details=xml", "details: expected object or text"},
      {"user=a%0Ab", "user: contains control characters"},
      {"msgid=" + std::string(1025, 'x'), "msgid: longer than 1024 bytes"},
  };
  for (const auto &[query, error] : cases) {
    BOOST_TEST_CONTEXT(query) {
      const auto said = error_of(get("/v1/audit/records?" + query));
      BOOST_TEST(said.rfind(error, 0) == 0, said);
    }
  }
  BOOST_TEST(
      error_of(get("/v1/audit/checkpoints?limit=5000")).rfind("limit:", 0) ==
      0);
  BOOST_TEST(error_of(get("/v1/audit/checkpoints?user=a")) ==
             "unknown parameter \"user\"");
  BOOST_TEST(error_of(get("/v1/audit/verify?key=x")) ==
             "unknown parameter \"key\"");
  BOOST_TEST(verification(*this, "ok") == "0");
}

BOOST_FIXTURE_TEST_CASE(a_failing_store_answers_503, AuditApiFixture) {
  add_mail_records(*this);
  fake.failing = true;
  for (const auto *path :
       {"/v1/audit/records", "/v1/audit/checkpoints", "/v1/audit/verify"}) {
    BOOST_TEST_CONTEXT(path) {
      const auto [status, body] = get(path);
      BOOST_TEST(status == 503);
      BOOST_TEST(body.at("error").get<std::string>().find(
                     "fake audit store down") != std::string::npos);
    }
  }
}

BOOST_FIXTURE_TEST_CASE(the_head_is_the_last_record_and_latest_checkpoint,
                        SqliteAuditApiFixture) {
  auto [status, head] = get("/v1/audit/head");
  BOOST_TEST(status == 200);
  BOOST_TEST(head == (json{{"origin", k_origin},
                           {"seq", 0},
                           {"hash", audit::k_genesis_hash},
                           {"checkpoint", nullptr}}));
  add("user.login", "alice@example.com", k_noon);
  add("user.logout", "alice@example.com", k_noon + k_hour);
  const auto signed_checkpoint = checkpoint();
  add("user.login", "bob@example.com", k_noon + 2 * k_hour);
  std::tie(status, head) = get("/v1/audit/head");
  BOOST_TEST(status == 200);
  const auto last = store->head();
  BOOST_REQUIRE(last);
  BOOST_TEST(head.at("seq") == 3);
  BOOST_TEST(head.at("hash") == last->hash);
  BOOST_TEST(head.at("checkpoint") ==
             audit::checkpoint_json(signed_checkpoint));
  BOOST_TEST(error_of(get("/v1/audit/head?limit=1")) ==
             "unknown parameter \"limit\"");
}

BOOST_FIXTURE_TEST_CASE(checkpoints_come_with_the_verifier_key,
                        SqliteAuditApiFixture) {
  add("user.login", "alice@example.com", k_noon);
  const auto first = checkpoint();
  add("user.logout", "alice@example.com", k_noon + 1);
  const auto second = checkpoint();

  auto [status, answer] = get("/v1/audit/checkpoints");
  BOOST_REQUIRE(status == 200);
  BOOST_TEST(answer.at("origin") == k_origin);
  BOOST_TEST(answer.at("key") == signer.verifier_key());
  BOOST_TEST(answer.at("base").is_null());
  BOOST_TEST(answer.at("checkpoints") ==
             json::array({audit::checkpoint_json(first),
                          audit::checkpoint_json(second)}));
  BOOST_TEST(answer.at("next").is_null());

  answer = get("/v1/audit/checkpoints?limit=1").second;
  BOOST_TEST(answer.at("checkpoints").size() == 1u);
  BOOST_TEST(answer.at("next") == 1);
  answer = get("/v1/audit/checkpoints?after=1").second;
  BOOST_TEST(answer.at("checkpoints") ==
             json::array({audit::checkpoint_json(second)}));
}

BOOST_FIXTURE_TEST_CASE(verify_says_ok_with_the_counts, SqliteAuditApiFixture) {
  add_mail_records(*this);
  checkpoint();
  add("user.logout", "alice@example.com", k_noon + 5 * k_hour);
  const auto [status, report] = get("/v1/audit/verify");
  BOOST_REQUIRE(status == 200);
  BOOST_TEST(report.at("ok") == true, report.dump());
  BOOST_TEST(report.at("origin") == k_origin);
  BOOST_TEST(report.at("records") == 6);
  BOOST_TEST(report.at("checkpoints") == 1);
  BOOST_TEST(report.at("damage").is_null());
  BOOST_TEST(verification(*this, "ok") == "1");
  BOOST_TEST(verification(*this, "edited") == "0");
}

BOOST_FIXTURE_TEST_CASE(verify_names_an_edited_record, AuditApiFixture) {
  add_mail_records(*this);
  checkpoint();
  fake.tamper([](auto &records) {
    records.at(3).details = R"({"flags":"\\Deleted"})";
  });
  const auto [status, report] = get("/v1/audit/verify");
  BOOST_REQUIRE(status == 200);
  BOOST_TEST(report.at("ok") == false);
  BOOST_TEST(report.at("damage") == "edited", report.dump());
  BOOST_TEST(report.at("seq") == 3);
  BOOST_TEST(!report.at("message").get<std::string>().empty());
  BOOST_TEST(verification(*this, "edited") == "1");
  BOOST_TEST(verification(*this, "ok") == "0");
}

BOOST_FIXTURE_TEST_CASE(verify_names_a_deleted_record, AuditApiFixture) {
  add_mail_records(*this);
  checkpoint();
  fake.tamper([](auto &records) { records.erase(3); });
  const auto report = get("/v1/audit/verify").second;
  BOOST_TEST(report.at("damage") == "deleted", report.dump());
  BOOST_TEST(report.at("seq") == 3);
  BOOST_TEST(verification(*this, "deleted") == "1");
}

BOOST_FIXTURE_TEST_CASE(verify_names_a_tail_cut_behind_a_checkpoint,
                        AuditApiFixture) {
  add_mail_records(*this);
  checkpoint();
  fake.tamper([](auto &records) { records.erase(std::prev(records.end())); });
  const auto report = get("/v1/audit/verify").second;
  BOOST_TEST(report.at("damage") == "truncated", report.dump());
  BOOST_TEST(verification(*this, "truncated") == "1");
}

BOOST_FIXTURE_TEST_CASE(verify_starts_at_the_retention_base,
                        SqliteAuditApiFixture) {
  add("user.login", "alice@example.com", k_noon - k_hour);
  checkpoint(); // of a record retention removes: its signature still counts
  add_mail_records(*this);
  checkpoint();
  const auto fourth = store->record(4);
  BOOST_REQUIRE(fourth);
  const auto base = signer.sign(k_origin, 4, (*fourth)->hash, k_noon);
  const auto removed = store->remove_through(base, 2);
  BOOST_REQUIRE(removed);
  BOOST_TEST(*removed == 4u);

  const auto checkpoints = get("/v1/audit/checkpoints").second;
  BOOST_TEST(checkpoints.at("base") == audit::checkpoint_json(base));
  BOOST_TEST(seqs(get("/v1/audit/records").second) ==
                 std::vector<std::uint64_t>({5, 6}),
             boost::test_tools::per_element());
  const auto report = get("/v1/audit/verify").second;
  BOOST_TEST(report.at("ok") == true, report.dump());
  BOOST_TEST(report.at("records") == 2);
  BOOST_TEST(report.at("checkpoints") == 2);
}

BOOST_AUTO_TEST_SUITE_END()
