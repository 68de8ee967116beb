#include "cli/Settings.hpp"
#include "cli/WebhookCommand.hpp"

#include <CLI/CLI.hpp>
#include <boost/test/unit_test.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <string>
#include <vector>

using namespace dovewarden;
using nlohmann::json;

namespace {

// Parses a dovewarden command line (without the program name) into a
// WebhookCommand.
struct Parsed {
  CLI::App app{"test"};
  cli::WebhookCommand command{app};
  explicit Parsed(std::vector<std::string> args) {
    app.require_subcommand(1);
    std::reverse(args.begin(), args.end());
    app.parse(args);
  }
};

} // namespace

BOOST_AUTO_TEST_SUITE(cli_webhook_command)

BOOST_AUTO_TEST_CASE(add_options_become_the_request_body) {
  Parsed add({"webhook",       "add",
              "--url",         "https://h.example/x",
              "--events",      "message.*, flags.*,",
              "--filter",      "user=a*",
              "--timeout",     "5s",
              "--rate-limit",  "2.5",
              "--concurrency", "3",
              "--batch-max",   "10",
              "--batch-wait",  "500ms",
              "--description", "crm"});
  BOOST_TEST(add.command.chosen());
  const auto body = add.command.endpoint_body();
  BOOST_REQUIRE(body);
  BOOST_TEST(*body == json({{"url", "https://h.example/x"},
                            {"events", {"message.*", "flags.*"}},
                            {"filter", "user=a*"},
                            {"timeout", "5s"},
                            {"rate_limit", 2.5},
                            {"concurrency", 3},
                            {"batch_max", 10},
                            {"batch_wait", "500ms"},
                            {"description", "crm"}}));

  Parsed update({"webhook", "update", "ep_1", "--rotate-secret", "--grace",
                 "1h", "--filter", ""});
  BOOST_TEST(*update.command.endpoint_body() ==
             json({{"rotate_secret", true}, {"grace", "1h"}, {"filter", ""}}));
}

BOOST_AUTO_TEST_CASE(bad_command_lines_are_usage_failures) {
  BOOST_CHECK_THROW(Parsed({"webhook", "add", "--url", "https://h.example"}),
                    CLI::ParseError);
  BOOST_CHECK_THROW(Parsed({"webhook", "add", "--url", "https://h.example",
                            "--events", "*", "--timeout", "15"}),
                    CLI::ParseError);
  BOOST_CHECK_THROW(Parsed({"webhook", "deliveries", "ep_1", "--limit", "0"}),
                    CLI::ParseError);
  BOOST_CHECK_THROW(Parsed({"webhook", "recover", "ep_1"}), CLI::ParseError);
  BOOST_CHECK_THROW(Parsed({"webhook"}), CLI::ParseError);

  Parsed nothing({"webhook", "update", "ep_1"});
  auto body = nothing.command.endpoint_body();
  BOOST_REQUIRE(!body);
  BOOST_TEST(body.error().exit_code == cli::k_exit_usage);
  Parsed grace({"webhook", "update", "ep_1", "--grace", "1h"});
  BOOST_TEST(grace.command.endpoint_body().error().message.find("--grace") !=
             std::string::npos);
  Parsed no_events({"webhook", "add", "--url", "u", "--events", ", ,"});
  BOOST_TEST(no_events.command.endpoint_body().error().exit_code ==
             cli::k_exit_usage);
}

BOOST_AUTO_TEST_SUITE_END()
