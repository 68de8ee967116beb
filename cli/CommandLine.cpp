#include "CommandLine.hpp"

#include "dovewarden-config.h"
#include "store/Priority.hpp"

namespace dovewarden::cli {

namespace {

CLI::App *add_replicate(CLI::App &app, Command &command) {
  auto *replicate =
      app.add_subcommand("replicate", "queue a sync of the users MASK matches");
  replicate->add_flag("-f,--full", command.full, "a full sync");
  replicate
      ->add_option("-p,--priority", command.priority,
                   "none, low, high or sync (default low)")
      ->type_name("PRIO")
      ->check([](const std::string &text) {
        return store::parse_priority(text) ? std::string()
                                           : "expected none, low, high or sync";
      });
  replicate->add_option("MASK", command.mask, "user mask (* and ?)")
      ->required();
  return replicate;
}

// Sets up app before the members that add subcommands to it.
CLI::App &with_options(CLI::App &app, Command &command) {
  app.set_version_flag("--version", PACKAGE_VERSION);
  app.require_subcommand(1);
  app.fallthrough();
  app.add_flag("--json", command.json_output, "print the API's JSON answer");
  app.add_option("--addr", command.sources.addr_flag,
                 "the admin API's HOST:PORT (env DOVEWARDEN_ADMIN_ADDR, "
                 "default 127.0.0.1:9961)")
      ->type_name("HOST:PORT");
  app.add_option("--config", command.sources.config_flag,
                 "dovewardend's KEY=value settings file (env "
                 "DOVEWARDEN_CONFIG, default /etc/default/dovewardend)")
      ->type_name("FILE");
  return app;
}

} // namespace

CommandLine::CommandLine()
    : app("dovewarden: the replication queue, the webhook endpoints and the "
          "audit log of dovewardend, through its admin API",
          "dovewarden"),
      status(with_options(app, command)
                 .add_subcommand("status",
                                 "show the queue, or the users MASK matches")),
      replicate(add_replicate(app, command)),
      remove(app.add_subcommand(
          "remove", "forget a user: its queue entry and sync record")),
      webhook(app), audit(app) {
  status->add_option("MASK", command.mask, "user mask (* and ?)");
  remove->add_option("USER", command.user, "user name")->required();
}

} // namespace dovewarden::cli
