// The dovewarden command, built, against an admin server in this process.
#include "AuditApiFixture.hpp"
#include "ReplicationApiFixture.hpp"
#include "TestUtil.hpp"
#include "WebhookApiFixture.hpp"

#include <boost/test/unit_test.hpp>
#include <nlohmann/json.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <string>
#include <tuple>
#include <utility>

using namespace dovewarden;
using namespace std::chrono_literals;
using nlohmann::json;
using store::Priority;
using test::ReplicationApiFixture;
using test::SqliteAuditApiFixture;
using test::TempDir;
using test::WebhookApiFixture;
using webhook::Clock;

namespace {

// Returns the text of a settings file that points the command at the admin
// server on port with token.
std::string settings_for(std::uint16_t port, const std::string &token) {
  return "DOVEWARDEN_ADMIN_ADDR=127.0.0.1:" + std::to_string(port) +
         "\nDOVEWARDEN_ADMIN_TOKEN=" + token + "\n";
}

// Runs the command with args and the settings file config, in a clean
// environment. Returns its exit code and stdout (stderr is appended).
std::pair<int, std::string> run_dovewarden(const std::string &config,
                                           const std::string &args) {
  const std::string binary = DOVEWARDEN_TOP_BUILDDIR "/cli/dovewarden";
  BOOST_REQUIRE_MESSAGE(::access(binary.c_str(), X_OK) == 0,
                        binary + " is not built");
  const auto command =
      "env -i " + binary + " --config " + config + " " + args + " 2>&1";
  FILE *pipe = ::popen(command.c_str(), "r");
  BOOST_REQUIRE(pipe != nullptr);
  std::string output;
  char buffer[4096];
  std::size_t got = 0;
  while ((got = std::fread(buffer, 1, sizeof(buffer), pipe)) > 0)
    output.append(buffer, got);
  const int status = ::pclose(pipe);
  BOOST_REQUIRE(WIFEXITED(status));
  return {WEXITSTATUS(status), output};
}

} // namespace

BOOST_AUTO_TEST_SUITE(cli_dovewarden)

BOOST_FIXTURE_TEST_CASE(dovewarden_command_against_the_server,
                        ReplicationApiFixture) {
  TempDir dir;
  const auto config = dir.write("config", settings_for(port, k_token));
  const auto run = [&](const std::string &args,
                       const std::string &settings = "") {
    return run_dovewarden(settings.empty() ? config : settings, args);
  };

  store::QueueStatus status;
  status.users = 2;
  store.set_queue_status(status);
  auto [code, output] = run("status");
  BOOST_TEST(code == 0);
  BOOST_TEST(output.find("Total number of known users   2\n") !=
             std::string::npos);

  std::tie(code, output) = run("replicate -f -p high 'frank'");
  BOOST_TEST(code == 0);
  BOOST_TEST(output == "1 users updated\n");
  BOOST_TEST((store.find("frank")->priority == Priority::high));
  BOOST_TEST(store.find("frank")->full_requested);

  std::tie(code, output) = run("--json status 'f*'");
  BOOST_TEST(code == 0);
  BOOST_TEST(json::parse(output).at(0).at("user") == "frank");

  std::tie(code, output) = run("remove frank");
  BOOST_TEST(code == 0);
  std::tie(code, output) = run("remove frank");
  BOOST_TEST(code == 67);
  BOOST_TEST(output.rfind("dovewarden: ", 0) == 0);
  BOOST_TEST(std::count(output.begin(), output.end(), '\n') == 1);

  std::tie(code, output) = run("replicate -p urgent frank");
  BOOST_TEST(code == 64);
  const auto wrong = dir.write("wrong", settings_for(port, "nope"));
  std::tie(code, output) = run("status", wrong);
  BOOST_TEST(code == 77);
  store.failing = true;
  std::tie(code, output) = run("status");
  BOOST_TEST(code == 69);
}

BOOST_FIXTURE_TEST_CASE(dovewarden_webhook_against_the_server,
                        WebhookApiFixture) {
  const auto config = dir.write("config", settings_for(port, k_token));
  const auto run = [&](const std::string &args) {
    return run_dovewarden(config, args);
  };

  auto [code, output] =
      run("webhook add --url https://h.invalid/in --events 'message.*,flags.*'"
          " --filter 'user=*@example.com' --timeout 5s");
  BOOST_TEST(code == 0, output);
  const auto endpoints = *sqlite->endpoints();
  BOOST_REQUIRE(endpoints.size() == 1u);
  const auto &endpoint = endpoints[0];
  // .invalid never resolves (RFC 6761): accepted, with a warning on stderr
  const auto table = "id      " + endpoint.id + "\nsecret  " +
                     endpoint.secrets[0].value + "\n";
  BOOST_TEST(output.rfind("dovewarden: warning: url: h.invalid does not "
                          "resolve now (",
                          0) == 0u,
             output);
  BOOST_TEST(output.substr(output.find('\n') + 1) == table);
  BOOST_TEST(endpoint.filter == "user=*@example.com");
  BOOST_TEST(endpoint.timeout.count() == 5000);
  const auto id = endpoint.id;

  std::tie(code, output) = run("webhook list");
  BOOST_TEST(code == 0);
  BOOST_TEST(output.find(id + "  https://h.invalid/in  message.*,flags.*  "
                              "enabled") != std::string::npos,
             output);
  std::tie(code, output) = run("webhook show " + id);
  BOOST_TEST(output.find("whsec_") == std::string::npos);
  std::tie(code, output) = run("webhook show --json " + id + " --secret");
  BOOST_TEST(code == 0);
  BOOST_TEST(json::parse(output).at("secrets").size() == 1u);

  std::tie(code, output) = run("webhook update " + id + " --rotate-secret");
  BOOST_TEST(code == 0);
  BOOST_TEST(stored(id).secrets.size() == 2u);
  BOOST_TEST(output.find("secret         " + stored(id).secrets[0].value) !=
             std::string::npos);
  std::tie(code, output) = run("webhook update " + id + " --filter 'user='");
  BOOST_TEST(code == 64);
  BOOST_TEST(output.rfind("dovewarden: filter: at position ", 0) == 0, output);

  std::tie(code, output) = run("webhook disable " + id);
  BOOST_TEST(code == 0);
  BOOST_TEST(output == "");
  BOOST_TEST(!stored(id).enabled);
  std::tie(code, output) = run("webhook enable " + id);
  BOOST_TEST(stored(id).enabled);

  std::tie(code, output) = run("webhook test " + id);
  BOOST_TEST(code == 0);
  BOOST_TEST(output.rfind("msg_", 0) == 0);
  const auto test_id = output.substr(0, output.size() - 1);
  std::tie(code, output) = run("webhook deliveries " + id + " --limit 5");
  BOOST_TEST(code == 0);
  BOOST_TEST(output.find(test_id + "  webhook.test  pending") !=
                 std::string::npos,
             output);

  const auto failed = failed_delivery(id, Clock::now() - 30min);
  std::tie(code, output) = run("webhook recover " + id + " --since 1h");
  BOOST_TEST(code == 0);
  BOOST_TEST(output == "1 deliveries pending again\n");
  std::tie(code, output) = run("webhook redeliver " + failed);
  BOOST_TEST(code == 0);
  std::tie(code, output) = run("webhook redeliver msg_none");
  BOOST_TEST(code == 67);

  std::tie(code, output) = run("webhook rm " + id);
  BOOST_TEST(code == 0);
  BOOST_TEST(sqlite->endpoints()->empty());
  std::tie(code, output) = run("webhook rm " + id);
  BOOST_TEST(code == 67);
  BOOST_TEST(output.rfind("dovewarden: unknown endpoint", 0) == 0);
  std::tie(code, output) = run("webhook add --url https://h.example");
  BOOST_TEST(code == 64);
  store->failing = true;
  std::tie(code, output) = run("webhook list");
  BOOST_TEST(code == 69);
}

BOOST_FIXTURE_TEST_CASE(dovewarden_audit_export_verifies_without_the_daemon,
                        SqliteAuditApiFixture) {
  for (int i = 0; i < 3; i++)
    add("message.expunge", "alice@example.com", 1'777'636'800'000'000 + i);
  checkpoint();
  const auto config = dir.write("config", settings_for(port, k_token));
  auto [code, output] = run_dovewarden(config, "audit query --user "
                                               "alice@example.com --limit 2");
  BOOST_TEST(code == 0);
  BOOST_TEST(output.find("more: --after 2\n") != std::string::npos, output);

  const auto records = dir.path() + "/records.ndjson";
  const auto checkpoints = dir.path() + "/checkpoints.ndjson";
  std::tie(code, output) = run_dovewarden(config, "audit export > " + records);
  BOOST_TEST(code == 0, output);
  std::tie(code, output) =
      run_dovewarden(config, "audit export --checkpoints > " + checkpoints);
  BOOST_TEST(code == 0, output);

  // off the host: no daemon, no settings, no token
  server->stop();
  const auto offline = "audit verify --records " + records + " --checkpoints " +
                       checkpoints + " --key " + public_key_file();
  std::tie(code, output) = run_dovewarden(dir.path() + "/none", offline);
  BOOST_TEST(code == 0);
  BOOST_TEST(output == "OK: 3 records, 1 checkpoints\n");

  std::tie(code, output) = run_dovewarden(
      dir.path() + "/none", "audit verify --records " + checkpoints +
                                " --checkpoints " + checkpoints);
  BOOST_TEST(code == 1);
  BOOST_TEST(output.rfind("DAMAGED: unreadable", 0) == 0, output);
}

BOOST_AUTO_TEST_SUITE_END()
