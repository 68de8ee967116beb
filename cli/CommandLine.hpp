#pragma once

#include "AuditCommand.hpp"
#include "Settings.hpp"
#include "WebhookCommand.hpp"

#include <CLI/CLI.hpp>

#include <string>

namespace dovewarden::cli {

// What the command line asked of the replication commands and everyone.
struct Command {
  bool json_output = false;
  Settings::Sources sources;
  std::string mask;
  std::string user;
  bool full = false;
  std::string priority = "low"; // doveadm replicator replicate's default
};

// dovewarden's commands and options: the one table that --help and the man
// page dovewarden(1) are written from.
struct CommandLine {
  CommandLine();
  CommandLine(const CommandLine &) = delete;
  CommandLine &operator=(const CommandLine &) = delete;

  CLI::App app;
  Command command;
  CLI::App *status;
  CLI::App *replicate;
  CLI::App *remove;
  const WebhookCommand webhook;
  const AuditCommand audit;
};

} // namespace dovewarden::cli
