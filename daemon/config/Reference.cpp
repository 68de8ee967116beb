#include "config/Reference.hpp"

#include "config/Config.hpp"
#include "util/ManText.hpp"

#include <sstream>
#include <stdexcept>

namespace dovewarden::config {

namespace {

std::string details(const util::Setting &setting) {
  return setting.details != nullptr ? setting.details : setting.help;
}

std::string code(const std::string &text) {
  return text.empty() ? "" : "`" + text + "`";
}

void write_table(std::ostream &out,
                 const std::vector<util::Setting> &settings) {
  out << "| variable | flag | default | meaning |\n|---|---|---|---|\n";
  for (const auto &setting : settings) {
    out << "|";
    for (const auto &cell : {code(setting.env), code(setting.flag),
                             code(setting.fallback), details(setting)})
      out << (cell.empty() ? " " : " " + cell + " ") << "|";
    out << "\n";
  }
}

void write_option(std::ostream &out, const util::Setting &setting) {
  out << ".TP\n"
      << "\\fB" << util::man::escape(setting.flag) << "\\fR \\fI"
      << util::man::escape(setting.metavar) << "\\fR\n"
      << util::man::text(details(setting)) << ".\n"
      << "Environment: \\fB" << util::man::escape(setting.env) << "\\fR";
  if (setting.fallback[0] != '\0')
    out << "; default: \\fB" << util::man::escape(setting.fallback) << "\\fR";
  out << ".\n";
}

} // namespace

std::string daemon_man_page() {
  std::ostringstream out;
  out << util::man::header("DOVEWARDEND", 8, "System Manager's Manual")
      << ".SH NAME\n"
         "dovewardend \\- receive mail events from Dovecot and fan them out\n"
         ".SH SYNOPSIS\n"
         ".B dovewardend\n"
         "[\\fIOPTION\\fR]...\n"
         ".SH DESCRIPTION\n"
      << util::man::text(
             "dovewardend takes the events of the dovewarden Dovecot plugin "
             "(over ZeroMQ) and of Dovecot's `event_exporter` (over HTTP), and "
             "passes them on: to a stream of JSON lines, to the replication "
             "queue that runs doveadm syncs, to webhooks, and to a signed "
             "audit log. The `dovewarden` command manages it through its "
             "admin API.")
      << "\n.PP\n"
      << util::man::text(
             "Every setting is an environment variable; the option of the "
             "same name overrides it, and `--config FILE` reads `KEY=value` "
             "lines that apply where neither sets one. A bad value stops "
             "start-up with one line naming the setting, and exit status 64. "
             "Durations take a unit: `500ms`, `5s`, `1m`, `1h`, `1d`.")
      << "\n.SH OPTIONS\n"
         ".TP\n\\fB\\-h\\fR, \\fB\\-\\-help\\fR\nprint the options and exit.\n"
         ".TP\n\\fB\\-\\-version\\fR\nprint the version and exit.\n";
  write_option(out, k_config_file_setting);
  for (const auto &group : setting_groups()) {
    out << ".SS " << util::man::escape(group.title) << "\n";
    for (const auto &setting : group.settings)
      write_option(out, setting);
  }
  out << ".SH ENVIRONMENT\n"
      << util::man::text(
             "Each option above has its environment variable, "
             "`DOVEWARDEN_` and the option's name in capitals with "
             "underscores. An option given on the command line wins "
             "over its variable, which wins over the file of "
             "`--config`, which wins over the default.")
      << "\n.SH FILES\n"
         ".TP\n/etc/default/dovewardend\n"
      << util::man::text(
             "the settings of the Debian package's service, `KEY=value` "
             "lines; the doveadm password goes here")
      << ".\n.TP\n/var/lib/dovewarden/\n"
      << util::man::text(
             "the embedded stores (`replication.db`, `webhooks.db`, "
             "`audit.sqlite`), the generated admin token "
             "(`admin.token`) and the audit log's signing key "
             "(`audit.key`)")
      << ".\n.TP\n/run/dovewarden/events.sock\n"
      << util::man::text("the ZeroMQ socket the plugin sends its events to")
      << ".\n"
      << ".SH EXIT STATUS\n"
         ".TP\n0\nstopped on SIGTERM or SIGINT, everything delivered.\n"
         ".TP\n1\nfailed to start, or stopped with events undelivered.\n"
         ".TP\n64\na bad setting or option.\n"
         ".SH SIGNALS\n"
      << util::man::text(
             "`SIGTERM` and `SIGINT` stop the daemon, draining within "
             "`DOVEWARDEN_SHUTDOWN_TIMEOUT`; a second one stops it at "
             "once. `SIGHUP` reopens the stream's file, for logrotate.")
      << "\n.SH SEE ALSO\n"
         ".BR dovewarden (1),\n"
         ".BR doveadm (1),\n"
         ".BR dovecot (1);\n"
         "the documentation in /usr/share/doc/dovewardend/.\n";
  return out.str();
}

std::string fill_configuration_reference(const std::string &page) {
  std::string filled = page;
  for (const auto &group : setting_groups()) {
    const auto begin = std::string("<!-- settings: ") + group.name +
                       " (generated: make reference) -->\n";
    const auto end =
        std::string("<!-- end of settings: ") + group.name + " -->";
    const auto from = filled.find(begin);
    const auto to = filled.find(end);
    if (from == std::string::npos || to == std::string::npos || to < from)
      throw std::runtime_error(std::string("no markers for the settings of ") +
                               group.name);
    std::ostringstream table;
    write_table(table, group.settings);
    const auto start = from + begin.size();
    filled.replace(start, to - start, table.str());
  }
  return filled;
}

} // namespace dovewarden::config
