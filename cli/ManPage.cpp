#include "ManPage.hpp"

#include "AuditCommand.hpp"
#include "Settings.hpp"
#include "config/Config.hpp"
#include "util/ManText.hpp"

#include <CLI/CLI.hpp>

#include <sstream>
#include <string_view>

namespace dovewarden::cli {

namespace {

namespace man = util::man;

bool takes_value(const CLI::Option &option) {
  return !option.get_type_name().empty();
}

std::string option_tag(const CLI::Option &option) {
  if (option.get_positional())
    return "\\fI" + man::escape(option.get_name(true)) + "\\fR";
  std::string tag;
  for (const auto &name : option.get_snames())
    tag += (tag.empty() ? "" : ", ") + std::string("\\fB\\-") +
           man::escape(name) + "\\fR";
  for (const auto &name : option.get_lnames())
    tag += (tag.empty() ? "" : ", ") + std::string("\\fB\\-\\-") +
           man::escape(name) + "\\fR";
  if (takes_value(option))
    tag += " \\fI" + man::escape(option.get_type_name()) + "\\fR";
  return tag;
}

void write_options(std::ostream &out, const CLI::App &app) {
  for (const auto *option : app.get_options()) {
    if (option == app.get_help_ptr() && app.get_parent() != nullptr)
      continue; // every command has -h, said once under OPTIONS
    out << ".TP\n"
        << option_tag(*option) << "\n"
        << man::text(option->get_description()) << ".\n";
  }
}

// "webhook add [OPTION]... URL"
std::string synopsis(const CLI::App &command, const std::string &path) {
  std::string line = "\\fB" + man::escape(path) + "\\fR";
  bool has_options = false;
  std::string arguments;
  for (const auto *option : command.get_options()) {
    if (option == command.get_help_ptr())
      continue;
    if (!option->get_positional()) {
      has_options = true;
      continue;
    }
    const auto name = "\\fI" + man::escape(option->get_name(true)) + "\\fR";
    arguments += option->get_required() ? " " + name : " [" + name + "]";
  }
  if (has_options)
    line += " [\\fIOPTION\\fR]...";
  if (!command.get_subcommands({}).empty())
    line += " \\fICOMMAND\\fR";
  return line + arguments;
}

void write_commands(std::ostream &out, const CLI::App &app,
                    const std::string &prefix) {
  for (const auto *command : app.get_subcommands({})) {
    const auto path = prefix + command->get_name();
    out << ".SS " << synopsis(*command, path) << "\n"
        << man::text(command->get_description()) << ".\n";
    write_options(out, *command);
    write_commands(out, *command, path + " ");
  }
}

// The daemon's own description of a setting the command reads too.
void write_setting(std::ostream &out, std::string_view env) {
  for (const auto &group : config::setting_groups())
    for (const auto &setting : group.settings)
      if (setting.env == env)
        out << ".TP\n\\fB" << man::escape(setting.env) << "\\fR\n"
            << man::text(setting.details != nullptr ? setting.details
                                                    : setting.help)
            << ".\n";
}

} // namespace

std::string man_page(const CLI::App &app) {
  std::ostringstream out;
  auto summary = app.get_description();
  if (const auto colon = summary.find(": "); colon != std::string::npos)
    summary = summary.substr(colon + 2);
  out << man::header("DOVEWARDEN", 1, "User Commands") << ".SH NAME\n"
      << "dovewarden \\- " << man::escape(summary) << "\n"
      << ".SH SYNOPSIS\n"
      << synopsis(app, "dovewarden") << " [\\fIARGUMENT\\fR]...\n"
      << ".SH DESCRIPTION\n"
      << man::text(
             "dovewarden asks dovewardend's admin API, on loopback by "
             "default, with the admin token it finds as dovewardend does: "
             "`DOVEWARDEN_ADMIN_TOKEN`, else the file "
             "`DOVEWARDEN_ADMIN_TOKEN_FILE` names, else `admin.token` in "
             "`DOVEWARDEN_STORE_PATH`. Each of these, and the address, comes "
             "from the environment, else from dovewardend's settings file. "
             "Answers are tables; `--json` prints the API's JSON instead.")
      << "\n.SH OPTIONS\n";
  write_options(out, app);
  out << ".SH COMMANDS\n";
  write_commands(out, app, "");
  out << ".SH ENVIRONMENT\n";
  for (const char *env :
       {"DOVEWARDEN_ADMIN_ADDR", "DOVEWARDEN_ADMIN_TOKEN",
        "DOVEWARDEN_ADMIN_TOKEN_FILE", "DOVEWARDEN_STORE_PATH"})
    write_setting(out, env);
  out << ".TP\n\\fBDOVEWARDEN_CONFIG\\fR\n"
      << man::text("dovewardend's settings file, read for the settings "
                   "above that the environment does not give")
      << ".\n.SH FILES\n"
      << ".TP\n/etc/default/dovewardend\n"
      << man::text("dovewardend's settings, read when neither `--config` "
                   "nor `DOVEWARDEN_CONFIG` names a file")
      << ".\n.TP\n/var/lib/dovewarden/admin.token\n"
      << man::text("the admin token dovewardend generates") << ".\n"
      << ".SH EXIT STATUS\n";
  const std::pair<int, const char *> codes[] = {
      {k_exit_ok, "done"},
      {AuditCommand::k_exit_damaged,
       "`audit verify` found the audit log damaged"},
      {k_exit_usage, "a bad command line, address or settings file"},
      {k_exit_no_user, "no such user, endpoint or delivery"},
      {k_exit_unavailable, "dovewardend cannot be reached"},
      {k_exit_software, "an unexpected error"},
      {k_exit_protocol, "dovewardend's answer is not what the API promises"},
      {k_exit_no_permission, "the admin token is missing or refused"},
  };
  for (const auto &[code, meaning] : codes)
    out << ".TP\n" << code << "\n" << man::text(meaning) << ".\n";
  out << ".SH SEE ALSO\n"
         ".BR dovewardend (8),\n"
         ".BR doveadm (1);\n"
         "the documentation in /usr/share/doc/dovewardend/.\n";
  return out.str();
}

} // namespace dovewarden::cli
