// dovewarden: the operator's command for dovewardend's admin API, in the
// manner of doveadm replicator.
#include "AdminClient.hpp"
#include "CommandLine.hpp"
#include "Format.hpp"
#include "dovewarden-config.h"

#include <CLI/CLI.hpp>

#include <chrono>
#include <cstdlib>
#include <iostream>

namespace cli = dovewarden::cli;
using nlohmann::json;

namespace {

int fail(const cli::Failure &failure) {
  std::cerr << "dovewarden: " << failure.message << "\n";
  return failure.exit_code;
}

int unexpected_answer(const json::exception &e) {
  return fail({cli::k_exit_protocol,
               std::string("unexpected answer from dovewardend: ") + e.what()});
}

std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

int status(cli::AdminClient &client, const cli::Command &command) {
  const auto answer = command.mask.empty()
                          ? client.get("/v1/replication/status")
                          : client.get("/v1/replication/users?mask=" +
                                       cli::AdminClient::escape(command.mask));
  if (!answer)
    return fail(answer.error());
  if (command.json_output) {
    std::cout << answer->dump(2) << "\n";
    return cli::k_exit_ok;
  }
  std::cout << (command.mask.empty() ? cli::format_status(*answer)
                                     : cli::format_users(*answer, unix_now()));
  return cli::k_exit_ok;
}

int replicate(cli::AdminClient &client, const cli::Command &command) {
  const auto answer = client.post("/v1/replication/replicate",
                                  json{{"mask", command.mask},
                                       {"full", command.full},
                                       {"priority", command.priority}});
  if (!answer)
    return fail(answer.error());
  if (command.json_output)
    std::cout << answer->dump(2) << "\n";
  else
    std::cout << answer->at("queued").get<std::uint64_t>()
              << " users updated\n";
  return cli::k_exit_ok;
}

int remove(cli::AdminClient &client, const cli::Command &command) {
  const auto answer = client.remove("/v1/replication/users/" +
                                    cli::AdminClient::escape(command.user));
  if (!answer)
    return fail(answer.error());
  if (command.json_output)
    std::cout << json{{"removed", command.user}}.dump(2) << "\n";
  return cli::k_exit_ok;
}

int audit(const cli::AuditCommand &audit_command, cli::AdminClient *client,
          const cli::Command &command) {
  try {
    const auto exit_code =
        audit_command.run(client, command.json_output, std::cout);
    std::cout.flush();
    if (!exit_code)
      return fail(exit_code.error());
    return *exit_code;
  } catch (const json::exception &e) {
    return unexpected_answer(e);
  }
}

std::optional<std::string> process_env(const char *name) {
  const char *value = std::getenv(name);
  if (value == nullptr)
    return std::nullopt;
  return std::string(value);
}

int run(int argc, char **argv) {
  cli::CommandLine line;
  auto &app = line.app;
  const auto &command = line.command;
  const auto &webhook_command = line.webhook;
  const auto &audit_command = line.audit;

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp &) {
    std::cout << app.help();
    return cli::k_exit_ok;
  } catch (const CLI::CallForVersion &) {
    std::cout << "dovewarden " << PACKAGE_VERSION << "\n";
    return cli::k_exit_ok;
  } catch (const CLI::ParseError &e) {
    return fail({cli::k_exit_usage, e.what()});
  }

  if (audit_command.chosen() && !audit_command.needs_daemon())
    return audit(audit_command, nullptr, command);
  const auto settings = cli::Settings::resolve(process_env, command.sources);
  if (!settings)
    return fail(settings.error());
  cli::AdminClient client(*settings);
  try {
    if (line.status->parsed())
      return status(client, command);
    if (line.replicate->parsed())
      return replicate(client, command);
    if (webhook_command.chosen()) {
      const auto output = webhook_command.run(client, command.json_output);
      if (!output)
        return fail(output.error());
      std::cout << *output;
      return cli::k_exit_ok;
    }
    if (audit_command.chosen())
      return audit(audit_command, &client, command);
    return remove(client, command);
  } catch (const json::exception &e) {
    return unexpected_answer(e);
  }
}

} // namespace

// Errors stay one line beginning "dovewarden: ", even those not foreseen.
int main(int argc, char **argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception &e) {
    return fail(
        {cli::k_exit_software, std::string("unexpected error: ") + e.what()});
  }
}
