// dovewarden: the operator's command for dovewardend's admin API, in the
// manner of doveadm replicator.
#include "AdminClient.hpp"
#include "AuditCommand.hpp"
#include "Format.hpp"
#include "Settings.hpp"
#include "WebhookCommand.hpp"
#include "dovewarden-config.h"
#include "store/Priority.hpp"

#include <CLI/CLI.hpp>

#include <chrono>
#include <cstdlib>
#include <iostream>

namespace cli = dovewarden::cli;
using nlohmann::json;

namespace {

struct Command {
  bool json_output = false;
  cli::Settings::Sources sources;
  std::string mask;
  std::string user;
  bool full = false;
  std::string priority = "low"; // doveadm replicator replicate's default
};

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

int status(cli::AdminClient &client, const Command &command) {
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

int replicate(cli::AdminClient &client, const Command &command) {
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

int remove(cli::AdminClient &client, const Command &command) {
  const auto answer = client.remove("/v1/replication/users/" +
                                    cli::AdminClient::escape(command.user));
  if (!answer)
    return fail(answer.error());
  if (command.json_output)
    std::cout << json{{"removed", command.user}}.dump(2) << "\n";
  return cli::k_exit_ok;
}

int audit(const cli::AuditCommand &audit_command, cli::AdminClient *client,
          const Command &command) {
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
  CLI::App app("dovewarden: the replication queue, the webhook endpoints "
               "and the audit log of dovewardend, through its admin API",
               "dovewarden");
  app.set_version_flag("--version", PACKAGE_VERSION);
  app.require_subcommand(1);
  app.fallthrough();
  Command command;
  app.add_flag("--json", command.json_output, "print the API's JSON answer");
  app.add_option("--addr", command.sources.addr_flag,
                 "the admin API's HOST:PORT (env DOVEWARDEN_ADMIN_ADDR, "
                 "default 127.0.0.1:9091)")
      ->type_name("HOST:PORT");
  app.add_option("--config", command.sources.config_flag,
                 "dovewardend's KEY=value settings file (env "
                 "DOVEWARDEN_CONFIG, default /etc/default/dovewardend)")
      ->type_name("FILE");

  auto *status_command =
      app.add_subcommand("status", "show the queue, or the users MASK matches");
  status_command->add_option("MASK", command.mask, "user mask (* and ?)");
  auto *replicate_command =
      app.add_subcommand("replicate", "queue a sync of the users MASK matches");
  replicate_command->add_flag("-f,--full", command.full, "a full sync");
  replicate_command
      ->add_option("-p,--priority", command.priority,
                   "none, low, high or sync (default low)")
      ->type_name("PRIO")
      ->check([](const std::string &text) {
        return dovewarden::store::parse_priority(text)
                   ? std::string()
                   : "expected none, low, high or sync";
      });
  replicate_command->add_option("MASK", command.mask, "user mask (* and ?)")
      ->required();
  auto *remove_command = app.add_subcommand(
      "remove", "forget a user: its queue entry and sync record");
  remove_command->add_option("USER", command.user, "user name")->required();
  const cli::WebhookCommand webhook_command(app);
  const cli::AuditCommand audit_command(app);

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
    if (status_command->parsed())
      return status(client, command);
    if (replicate_command->parsed())
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
