#include "AuditApiFixture.hpp"
#include "cli/AdminClient.hpp"
#include "cli/AuditCommand.hpp"
#include "cli/AuditLog.hpp"
#include "cli/Format.hpp"
#include "cli/Settings.hpp"

#include <CLI/CLI.hpp>
#include <boost/test/unit_test.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

using namespace dovewarden;
using nlohmann::json;
using test::AuditApiFixture;

namespace {

constexpr std::int64_t k_noon = 1'777'636'800'000'000; // 2026-05-01T12:00Z

// Parses a dovewarden command line (without the program name) into an
// AuditCommand.
struct Parsed {
  CLI::App app{"test"};
  cli::AuditCommand command{app};
  explicit Parsed(std::vector<std::string> args) {
    app.require_subcommand(1);
    std::reverse(args.begin(), args.end());
    app.parse(args);
  }
};

// An audit log of count records with a checkpoint every 1000 and one at
// the end, in SQLite (or the fake store, whose records a test can damage),
// behind the admin API, and a client of it.
struct AuditLog : AuditApiFixture {
  cli::AdminClient client{cli::Settings{"127.0.0.1", port, k_token}};

  explicit AuditLog(std::uint64_t count = 5, bool on_sqlite = true)
      : AuditApiFixture(on_sqlite) {
    for (std::uint64_t i = 1; i <= count; i++) {
      audit::Record fields;
      fields.ip = "192.0.2.1";
      fields.port = 40000;
      fields.session = "s" + std::to_string(i);
      fields.service = "imap";
      fields.mailbox = "INBOX";
      fields.uid = static_cast<std::uint32_t>(i);
      fields.msgid = "<m" + std::to_string(i) + "@example.com>";
      // a flag's backslash and a non-ASCII name: the hash covers this text
      fields.details = R"({"flags":["\\Seen"],"from":"Jürgen","n":)" +
                       std::to_string(i) + "}";
      add(i % 2 ? "message.expunge" : "message.open", "alice@example.com",
          k_noon + static_cast<std::int64_t>(i) * 1'000'000, fields);
      if (i % 1000 == 0)
        checkpoint();
    }
    if (count % 1000 != 0)
      checkpoint();
  }

  // Runs a dovewarden command line; returns its exit code (or the
  // failure's) and what it printed.
  std::pair<int, std::string> run(std::vector<std::string> args) {
    Parsed parsed(std::move(args));
    std::ostringstream out;
    const auto code = parsed.command.run(&client, false, out);
    if (!code)
      return {code.error().exit_code, code.error().message};
    return {*code, out.str()};
  }

  // Exports the records and the checkpoints into files; returns their paths.
  std::pair<std::string, std::string> export_files() {
    const auto records = dir.path() + "/records.ndjson";
    const auto checkpoints = dir.path() + "/checkpoints.ndjson";
    std::ofstream records_out(records), checkpoints_out(checkpoints);
    BOOST_REQUIRE(cli::export_records(client, "", records_out));
    BOOST_REQUIRE(cli::export_checkpoints(client, checkpoints_out));
    return {records, checkpoints};
  }

  std::pair<int, std::string> verify_files(const std::string &records,
                                           const std::string &checkpoints,
                                           const std::string &key) {
    std::vector<std::string> args{"audit", "verify",        "--records",
                                  records, "--checkpoints", checkpoints};
    if (!key.empty()) {
      args.push_back("--key");
      args.push_back(key);
    }
    Parsed parsed(std::move(args));
    BOOST_TEST(!parsed.command.needs_daemon());
    std::ostringstream out;
    const auto code = parsed.command.run(nullptr, false, out);
    if (!code)
      return {code.error().exit_code, code.error().message};
    return {*code, out.str()};
  }
};

std::vector<std::string> lines_of(const std::string &path) {
  std::ifstream file(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(file, line);)
    lines.push_back(line);
  return lines;
}

void write_lines(const std::string &path,
                 const std::vector<std::string> &lines) {
  std::ofstream file(path, std::ios::trunc);
  for (const auto &line : lines)
    file << line << "\n";
}

} // namespace

BOOST_AUTO_TEST_SUITE(cli_audit_command)

BOOST_AUTO_TEST_CASE(filters_become_the_query_string) {
  Parsed query({"audit", "query", "--user", "a@b.example", "--type",
                "message.*", "--since", "2h", "--until",
                "2026-05-01T12:00:00+02:00", "--mailbox", "Sent Items", "--ip",
                "2001:db8::1", "--msgid", "<x@y>"});
  BOOST_TEST(query.command.chosen());
  BOOST_TEST(query.command.needs_daemon());
  BOOST_TEST(query.command.filters() ==
             "user=a%40b.example&type=message.%2A&since=2h&until=2026-05-"
             "01T12%3A00%3A00%2B02%3A00&mailbox=Sent%20Items&ip=2001%3Adb8%"
             "3A%3A1&msgid=%3Cx%40y%3E");
  Parsed none({"audit", "export"});
  BOOST_TEST(none.command.filters() == "");
  Parsed verify({"audit", "verify"});
  BOOST_TEST(verify.command.needs_daemon());
  BOOST_CHECK_THROW(Parsed({"audit", "query", "--limit", "1001"}),
                    CLI::ValidationError);
}

BOOST_AUTO_TEST_CASE(query_prints_a_table_and_the_next_page) {
  const json page{{"records",
                   {{{"seq", 41},
                     {"time", k_noon},
                     {"operation", "message.expunge"},
                     {"user", "alice@example.com"},
                     {"actor", "alice@example.com"},
                     {"ip", "2001:db8::1"},
                     {"port", 51234},
                     {"session", "Kx9"},
                     {"mailbox", "INBOX"},
                     {"uid", 7},
                     {"msgid", "<m7@example.com>"},
                     {"outcome", "ok"}},
                    {{"seq", 42},
                     {"time", k_noon + 1'500'000},
                     {"operation", "events.lost"},
                     {"user", ""},
                     {"actor", "daemon"},
                     {"ip", ""},
                     {"port", 0},
                     {"session", ""},
                     {"mailbox", ""},
                     {"uid", 0},
                     {"msgid", ""},
                     {"outcome", "lost"}}}},
                  {"next", 42}};
  BOOST_TEST(
      cli::format_audit_records(page) ==
      "seq  time                  operation        user               actor  "
      "            from                 session  mailbox  uid  msgid        "
      "     outcome\n"
      "41   2026-05-01T12:00:00Z  message.expunge  alice@example.com  "
      "alice@example.com  [2001:db8::1]:51234  Kx9      INBOX    7    "
      "<m7@example.com>  ok\n"
      "42   2026-05-01T12:00:01Z  events.lost      -                  daemon "
      "            -                    -        -        -    -            "
      "     lost\n"
      "more: --after 42\n");
}

BOOST_AUTO_TEST_CASE(verify_reports_one_line) {
  BOOST_TEST(cli::format_verify_report(json{{"ok", true},
                                            {"records", 12},
                                            {"checkpoints", 2},
                                            {"damage", nullptr},
                                            {"seq", 0},
                                            {"message", ""}}) ==
             "OK: 12 records, 2 checkpoints\n");
  BOOST_TEST(cli::format_verify_report(
                 json{{"ok", false},
                      {"records", 2},
                      {"checkpoints", 0},
                      {"damage", "edited"},
                      {"seq", 3},
                      {"message", "record 3 does not match its hash"}}) ==
             "DAMAGED: edited at seq 3: record 3 does not match its hash\n");
}

BOOST_AUTO_TEST_CASE(query_through_the_api) {
  AuditLog log;
  auto [code, output] = log.run({"audit", "query", "--type", "message.open",
                                 "--limit", "1", "--after", "1"});
  BOOST_TEST(code == 0);
  BOOST_TEST(output.find("\n2    2026-05-01T12:00:02Z  message.open") !=
                 std::string::npos,
             output);
  BOOST_TEST(output.find("more: --after 2\n") != std::string::npos, output);
  std::tie(code, output) = log.run({"audit", "query", "--since", "soon"});
  BOOST_TEST(code == cli::k_exit_usage);
  BOOST_TEST(output.rfind("since: expected", 0) == 0, output);
}

BOOST_AUTO_TEST_CASE(export_streams_every_record_page_by_page) {
  AuditLog log(2500);
  std::ostringstream out;
  const auto written = cli::export_records(log.client, "", out);
  BOOST_REQUIRE(written);
  BOOST_TEST(*written == 2500u);
  std::istringstream lines(out.str());
  std::uint64_t seq = 0;
  for (std::string line; std::getline(lines, line);) {
    const auto record = audit::record_from_json(json::parse(line));
    BOOST_REQUIRE(record);
    BOOST_REQUIRE(record->seq == ++seq);
    const auto stored = log.store->record(seq);
    BOOST_REQUIRE(stored);
    BOOST_REQUIRE(stored->has_value());
    BOOST_REQUIRE(*record == **stored);
  }
  BOOST_TEST(seq == 2500u);

  std::ostringstream selected;
  BOOST_TEST(*cli::export_records(log.client,
                                  "type=message.open&until=" +
                                      std::to_string(1777636811),
                                  selected) == 5u);

  std::ostringstream checkpoints;
  BOOST_TEST(*cli::export_checkpoints(log.client, checkpoints) == 3u);
}

BOOST_AUTO_TEST_CASE(verify_with_a_key_reads_every_page_of_the_api) {
  AuditLog log(2500);
  const auto [code, output] =
      log.run({"audit", "verify", "--key", log.public_key_file()});
  BOOST_TEST(code == 0);
  BOOST_TEST(output == "OK: 2500 records, 3 checkpoints\n");
}

BOOST_AUTO_TEST_CASE(an_export_verifies_off_the_host_with_the_key_alone) {
  AuditLog log(1200);
  const auto [records, checkpoints] = log.export_files();
  auto [code, output] =
      log.verify_files(records, checkpoints, log.public_key_file());
  BOOST_TEST(code == 0);
  BOOST_TEST(output == "OK: 1200 records, 2 checkpoints\n");
  std::tie(code, output) =
      log.verify_files(records, checkpoints, log.signer.verifier_key());
  BOOST_TEST(code == 0, output);

  // without a key, the hashes only, and it says so
  std::tie(code, output) = log.verify_files(records, checkpoints, "");
  BOOST_TEST(code == 0);
  BOOST_TEST(output.find("warning: no --key") != std::string::npos, output);
}

BOOST_AUTO_TEST_CASE(an_export_after_retention_verifies_from_its_base) {
  AuditLog log(3); // and a checkpoint of record 3, which retention removes
  for (int i = 4; i <= 10; i++)
    log.add("message.open", "alice@example.com", k_noon + i * 1'000'000);
  const auto sixth = log.store->record(6);
  BOOST_REQUIRE(sixth);
  const auto base = log.signer.sign(AuditLog::k_origin, 6, (*sixth)->hash,
                                    k_noon + 20'000'000);
  BOOST_REQUIRE(log.store->remove_through(base, 1000));
  log.add("user.logout", "alice@example.com", k_noon + 30'000'000);
  log.checkpoint();
  const auto [records, checkpoints] = log.export_files();
  BOOST_TEST(lines_of(records).size() == 5u);
  const auto checkpoint_lines = lines_of(checkpoints);
  BOOST_REQUIRE(checkpoint_lines.size() == 3u);
  BOOST_TEST(json::parse(checkpoint_lines[0]).at("base") == true);
  const auto [code, output] =
      log.verify_files(records, checkpoints, log.public_key_file());
  BOOST_TEST(code == 0);
  BOOST_TEST(output == "OK: 5 records, 2 checkpoints\n");
}

BOOST_AUTO_TEST_CASE(an_edited_export_fails_naming_the_record) {
  AuditLog log(10);
  const auto [records, checkpoints] = log.export_files();
  auto lines = lines_of(records);
  BOOST_REQUIRE(lines.size() == 10u);
  const auto at = lines[3].find("alice@example.com");
  BOOST_REQUIRE(at != std::string::npos);
  lines[3].replace(at, 5, "mallo");
  write_lines(records, lines);
  const auto [code, output] =
      log.verify_files(records, checkpoints, log.public_key_file());
  BOOST_TEST(code == cli::AuditCommand::k_exit_damaged);
  BOOST_TEST(output.rfind("DAMAGED: edited at seq 4: ", 0) == 0, output);
}

BOOST_AUTO_TEST_CASE(a_reordered_or_cut_export_fails) {
  AuditLog log(10);
  const auto [records, checkpoints] = log.export_files();
  const auto original = lines_of(records);

  // records 5 and 6 trade places, each renumbered to the other's seq
  auto swapped = original;
  auto fifth = json::parse(swapped[4]), sixth = json::parse(swapped[5]);
  std::swap(fifth["seq"], sixth["seq"]);
  swapped[4] = sixth.dump();
  swapped[5] = fifth.dump();
  write_lines(records, swapped);
  auto [code, output] =
      log.verify_files(records, checkpoints, log.public_key_file());
  BOOST_TEST(code == cli::AuditCommand::k_exit_damaged);
  BOOST_TEST(output.rfind("DAMAGED: reordered", 0) == 0, output);

  auto cut = original;
  cut.resize(8);
  write_lines(records, cut);
  std::tie(code, output) =
      log.verify_files(records, checkpoints, log.public_key_file());
  BOOST_TEST(code == cli::AuditCommand::k_exit_damaged);
  BOOST_TEST(output.rfind("DAMAGED: truncated", 0) == 0, output);
}

BOOST_AUTO_TEST_CASE(another_key_fails_the_checkpoints) {
  AuditLog log(10);
  const auto [records, checkpoints] = log.export_files();
  test::TempDir other;
  const auto stranger =
      test::make_signer(other.path() + "/other.key", AuditLog::k_origin);
  const auto [code, output] =
      log.verify_files(records, checkpoints, stranger.verifier_key());
  BOOST_TEST(code == cli::AuditCommand::k_exit_damaged);
  BOOST_TEST(output.rfind("DAMAGED: bad_checkpoint", 0) == 0, output);
}

BOOST_AUTO_TEST_CASE(bad_files_and_keys_are_usage_errors) {
  AuditLog log(3);
  const auto [records, checkpoints] = log.export_files();
  auto [code, output] =
      log.verify_files(records, log.dir.path() + "/missing", "");
  BOOST_TEST(code == cli::k_exit_usage);
  BOOST_TEST(output == "cannot read " + log.dir.path() + "/missing");
  std::tie(code, output) = log.verify_files(records, checkpoints, "not a key");
  BOOST_TEST(code == cli::k_exit_usage);
  BOOST_TEST(output.rfind("--key: ", 0) == 0, output);
  std::tie(code, output) =
      log.verify_files(records, checkpoints, "/nonexistent/audit.key.pub");
  BOOST_TEST(code == cli::k_exit_usage);
  BOOST_TEST(output.rfind("--key: \"/nonexistent/audit.key.pub\" is neither a "
                          "readable file nor a verifier key",
                          0) == 0,
             output);

  write_lines(records, {"{\"seq\":1}"});
  std::tie(code, output) = log.verify_files(records, checkpoints, "");
  BOOST_TEST(code == cli::AuditCommand::k_exit_damaged);
  BOOST_TEST(output.find("unreadable") != std::string::npos, output);
  BOOST_TEST(output.find("line 1: \"time\" is missing") != std::string::npos,
             output);

  Parsed half({"audit", "verify", "--records", records});
  std::ostringstream out;
  const auto refused = half.command.run(nullptr, false, out);
  BOOST_REQUIRE(!refused);
  BOOST_TEST(refused.error().exit_code == cli::k_exit_usage);
}

BOOST_AUTO_TEST_CASE(verify_asks_the_daemon_or_checks_its_answers_here) {
  AuditLog log(10, false);
  auto [code, output] = log.run({"audit", "verify"});
  BOOST_TEST(code == 0);
  BOOST_TEST(output == "OK: 10 records, 1 checkpoints\n");
  std::tie(code, output) =
      log.run({"audit", "verify", "--key", log.public_key_file()});
  BOOST_TEST(code == 0);
  BOOST_TEST(output == "OK: 10 records, 1 checkpoints\n");

  log.fake.tamper(
      [](auto &records) { records.at(7).user = "mallory@example.com"; });
  std::tie(code, output) = log.run({"audit", "verify"});
  BOOST_TEST(code == cli::AuditCommand::k_exit_damaged);
  BOOST_TEST(output.rfind("DAMAGED: edited at seq 7: ", 0) == 0, output);
  std::tie(code, output) =
      log.run({"audit", "verify", "--key", log.signer.verifier_key()});
  BOOST_TEST(code == cli::AuditCommand::k_exit_damaged);
  BOOST_TEST(output.rfind("DAMAGED: edited at seq 7: ", 0) == 0, output);
}

BOOST_AUTO_TEST_SUITE_END()
