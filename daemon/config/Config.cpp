#include "config/Config.hpp"

#include "config/EnvFile.hpp"
#include "config/UnknownEnvironment.hpp"
#include "dovewarden-config.h"
#include "filter/TypeFilter.hpp"
#include "util/ConfigError.hpp"
#include "util/NetworkList.hpp"
#include "util/Strings.hpp"

#include <CLI/CLI.hpp>

#include <cerrno>
#include <cstdlib>
#include <initializer_list>
#include <limits>
#include <map>
#include <ostream>

namespace dovewarden::config {

namespace {

using util::ConfigError;
using util::SettingValues;

// dovewardend's own settings, around the features' (settings())
const std::vector<util::Setting> k_intake_settings{
    {"DOVEWARDEN_STREAM", "--stream", "PATH", "",
     "write events as JSON lines to PATH (appending) or - for stdout; empty: "
     "off",
     "JSON lines to a file (appended) or `-` for stdout; empty: off"},
    {"DOVEWARDEN_STREAM_EVENTS", "--stream-events", "GLOBS", "*",
     "comma-separated event-type globs the stream carries, e.g. message.*",
     "comma-separated type globs the stream carries"},
    {"DOVEWARDEN_STREAM_FLUSH_INTERVAL", "--stream-flush-interval", "DURATION",
     "200ms", "write the stream's batch at least this often",
     "write the stream's batch at least this often"},
    {"DOVEWARDEN_STREAM_FLUSH_BYTES", "--stream-flush-bytes", "BYTES", "65536",
     "write the stream's batch once it holds this many bytes",
     "write the batch once it holds this many bytes"},
    {"DOVEWARDEN_STREAM_QUEUE", "--stream-queue", "EVENTS", "10000",
     "events waiting for the stream's reader, at most",
     "events waiting for the stream's reader, at most (1 to 10000000)"},
    {"DOVEWARDEN_STREAM_OVERFLOW", "--stream-overflow", "POLICY", "drop",
     "when the stream's queue is full: drop (and count) the event, or block "
     "the intake, and with it replication and webhooks",
     "when that queue is full: `drop` the event (counted and logged, see "
     "below), or `block` the intake, and with it replication and webhooks, "
     "until the reader catches up"},
    {"DOVEWARDEN_METRICS_ADDR", "--metrics-addr", "ADDR", "127.0.0.1:9960",
     "HOST:PORT serving /metrics, /healthz and /readyz; empty: off",
     "`/metrics`, `/healthz`, `/readyz`; `:PORT` means every interface; empty: "
     "off"},
    {"DOVEWARDEN_HTTP_ADDR", "--http-addr", "ADDR", "127.0.0.1:8080",
     "HOST:PORT taking Dovecot's event_exporter JSON on POST /events; empty: "
     "off",
     "`POST /events` for Dovecot's `event_exporter` JSON "
     "(`docs/event-exporter.md`); `:PORT` means every interface; empty: off"},
    {"DOVEWARDEN_HTTP_MAX_BODY", "--http-max-body", "BYTES", "10485760",
     "POST /events bodies larger are refused with 413",
     "bytes, 1024 to 1073741824; a `POST /events` body that is larger is "
     "answered 413, and counted (`reason=\"too_large\"`)"},
    {"DOVEWARDEN_HTTP_TOKEN_FILE", "--http-token-file", "PATH", "",
     "file holding a bearer token POST /events must present; empty: none",
     "a file whose first line is a bearer token that every `POST /events` must "
     "present (`Authorization: Bearer TOKEN`, the scheme in any case); without "
     "it the answer is 401, counted as `reason=\"unauthorized\"`. The token is "
     "kept only as its SHA-256 digest, compared in constant time, and never "
     "logged. Dovecot's `event_exporter` has no setting for such a header: for "
     "it, use `DOVEWARDEN_HTTP_ALLOW_FROM`, or a proxy in front that adds the "
     "token; empty: none"},
    {"DOVEWARDEN_HTTP_ALLOW_FROM", "--http-allow-from", "CIDRS", "",
     "networks POST /events takes events from, e.g. 127.0.0.1/32; empty: "
     "any",
     "comma-separated CIDRs or addresses, IPv4 or IPv6, that `POST /events` "
     "takes events from; a peer outside them gets 403, counted as "
     "`reason=\"forbidden\"`. With a token file too, both are needed; empty: "
     "any"},
};
const std::vector<util::Setting> k_admin_settings{
    {"DOVEWARDEN_ADMIN_ADDR", "--admin-addr", "ADDR", "127.0.0.1:9961",
     "HOST:PORT of the admin API (dovewarden command); empty: off",
     "where the admin API listens (plain HTTP: keep it on loopback); empty: "
     "off"},
    {"DOVEWARDEN_ADMIN_TOKEN", "--admin-token", "SECRET", "",
     "bearer token of the admin API; empty: DOVEWARDEN_ADMIN_TOKEN_FILE",
     "the bearer token; empty: `DOVEWARDEN_ADMIN_TOKEN_FILE`"},
    {"DOVEWARDEN_ADMIN_TOKEN_FILE", "--admin-token-file", "PATH", "",
     "file holding the token; empty: STORE_PATH/admin.token, made if absent",
     "a file holding the token; empty: `$DOVEWARDEN_STORE_PATH/admin.token`, "
     "generated if absent"},
};
const std::vector<util::Setting> k_logging_settings{
    {"DOVEWARDEN_LOG_LEVEL", "--log-level", "LEVEL", "info",
     "debug, info, warn or error; logs go to stderr",
     "`debug`, `info`, `warn`, `error`; logs go to stderr"},
    {"DOVEWARDEN_SHUTDOWN_TIMEOUT", "--shutdown-timeout", "DURATION", "5s",
     "how long SIGTERM may spend draining before exiting anyway",
     "how long SIGTERM may spend draining before exiting anyway"},
};

// the one list of settings: --help, the environment and the file all read
// it, in this order
std::vector<util::Setting> all_settings() {
  std::vector<util::Setting> all;
  for (const auto &group : setting_groups())
    all.insert(all.end(), group.settings.begin(), group.settings.end());
  return all;
}

bus::Bus::Overflow stream_overflow(const SettingValues &values) {
  const auto &text = values.text("DOVEWARDEN_STREAM_OVERFLOW");
  if (text == "drop")
    return bus::Bus::Overflow::drop;
  if (text == "block")
    return bus::Bus::Overflow::block;
  throw ConfigError(
      "DOVEWARDEN_STREAM_OVERFLOW",
      SettingValues::invalid("policy", text, "expected drop or block"));
}

Config convert(const util::SettingValues &values) {
  Config config;
  config.zmq = sources::ZmqConfig::from(values);

  config.stream = values.text("DOVEWARDEN_STREAM");
  config.stream_events = values.text("DOVEWARDEN_STREAM_EVENTS");
  const auto filter = filter::TypeFilter::parse(config.stream_events);
  if (!filter)
    throw ConfigError(
        "DOVEWARDEN_STREAM_EVENTS",
        SettingValues::invalid("globs", config.stream_events, filter.error()));
  config.stream_flush_interval =
      values.duration("DOVEWARDEN_STREAM_FLUSH_INTERVAL");
  config.stream_flush_bytes = static_cast<std::size_t>(
      values.number("DOVEWARDEN_STREAM_FLUSH_BYTES", 1, 1u << 30));
  config.stream_queue = static_cast<std::size_t>(
      values.number("DOVEWARDEN_STREAM_QUEUE", 1, 10000000));
  config.stream_overflow = stream_overflow(values);

  config.metrics_addr = values.optional_address("DOVEWARDEN_METRICS_ADDR");

  config.http_addr = values.optional_address("DOVEWARDEN_HTTP_ADDR");
  config.http_max_body = static_cast<std::size_t>(
      values.number("DOVEWARDEN_HTTP_MAX_BODY", 1024, 1u << 30));
  config.http_token_file = values.text("DOVEWARDEN_HTTP_TOKEN_FILE");
  auto allow_from =
      util::NetworkList::parse(values.text("DOVEWARDEN_HTTP_ALLOW_FROM"));
  if (!allow_from)
    throw ConfigError("DOVEWARDEN_HTTP_ALLOW_FROM", allow_from.error());
  config.http_allow_from = std::move(*allow_from);
  config.listener_limits = util::HttpLimits::from(values);
  config.replication = replication::ReplicationConfig::from(values);
  config.admin_addr = values.optional_address("DOVEWARDEN_ADMIN_ADDR");
  config.admin_token = values.text("DOVEWARDEN_ADMIN_TOKEN");
  config.admin_token_file = values.text("DOVEWARDEN_ADMIN_TOKEN_FILE");
  config.webhooks = webhook::WebhookConfig::from(values);
  config.audit = audit::AuditConfig::from(values);

  const auto &level_text = values.text("DOVEWARDEN_LOG_LEVEL");
  const auto level = util::Logger::parse_level(level_text);
  if (!level)
    throw ConfigError(
        "DOVEWARDEN_LOG_LEVEL",
        SettingValues::invalid("level", level_text, level.error()));
  config.log_level = *level;
  config.shutdown_timeout = values.duration("DOVEWARDEN_SHUTDOWN_TIMEOUT");
  return config;
}

// Fills in what the file says for settings that neither a flag nor the
// environment gave. Unknown keys are remarked on, not fatal: the file may
// come from a newer version.
void apply_file(const std::string &path, util::SettingValues &values,
                const std::map<std::string, bool, std::less<>> &given,
                std::vector<std::string> &warnings) {
  const auto file = EnvFile::read(path);
  for (const auto &[key, value] : file.entries()) {
    const auto it = given.find(key);
    if (it == given.end()) {
      // once per unknown key, at start: + reads better than append()
      // NOLINTNEXTLINE(performance-inefficient-string-concatenation)
      warnings.push_back(path + ": ignoring unknown setting " + key +
                         nearest_setting_hint(key));
      continue;
    }
    if (!it->second)
      values.set(key, value);
  }
}

} // namespace

const util::Setting k_config_file_setting{
    "DOVEWARDEN_CONFIG",
    "--config",
    "FILE",
    "",
    "read settings from an env-style file",
    "a file of `KEY=value` lines (`#` comments, `export` and quotes allowed) "
    "for the settings that neither an option nor the environment gives"};

std::vector<SettingGroup> setting_groups() {
  const auto joined =
      [](std::initializer_list<const std::vector<util::Setting> *> parts) {
        std::vector<util::Setting> all;
        for (const auto *part : parts)
          all.insert(all.end(), part->begin(), part->end());
        return all;
      };
  return {
      {"daemon", "Events in and out",
       joined({&sources::ZmqConfig::settings(), &k_intake_settings,
               &k_logging_settings})},
      {"replication", "Replication",
       replication::ReplicationConfig::settings()},
      {"webhooks", "Webhooks", webhook::WebhookConfig::settings()},
      {"audit", "The audit log", audit::AuditConfig::settings()},
      {"admin", "The admin API", k_admin_settings},
      {"listeners", "HTTP listeners", util::HttpLimits::settings()},
  };
}

Config::EnvLookup Config::process_environment() {
  return [](const char *name) -> std::optional<std::string> {
    const char *value = std::getenv(name);
    if (value == nullptr)
      return std::nullopt;
    return std::string(value);
  };
}

std::optional<Config> Config::from_command_line(int argc,
                                                const char *const *argv,
                                                const EnvLookup &env,
                                                std::ostream &out) {
  CLI::App app("dovewardend: receives mail events from the Dovecot plugin and "
               "fans them out.\nEvery setting is an environment variable; a "
               "flag overrides it.",
               "dovewardend");
  app.set_version_flag("--version", PACKAGE_VERSION);
  app.get_formatter()->column_width(34);
  app.footer("Values in --config FILE (KEY=value lines) apply where neither a "
             "flag nor the environment sets one.");

  std::map<std::string, std::string> flag_values;
  std::map<std::string, CLI::Option *> options;
  const auto settings = all_settings();
  for (const auto &setting : settings) {
    auto *option = app.add_option(
        setting.flag, flag_values[setting.env],
        std::string(setting.help) + " [default: " +
            (setting.fallback[0] != '\0' ? setting.fallback : "empty") + "]");
    option->option_text(std::string(setting.metavar) + " (env " + setting.env +
                        ")");
    options[setting.env] = option;
  }
  std::string config_flag;
  const auto &file = k_config_file_setting;
  auto *config_option =
      app.add_option(file.flag, config_flag,
                     std::string(file.help) + " [default: none]")
          ->option_text(std::string(file.metavar) + " (env " + file.env + ")");

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp &) {
    out << app.help();
    return std::nullopt;
  } catch (const CLI::CallForVersion &) {
    out << "dovewardend " << PACKAGE_VERSION << "\n";
    return std::nullopt;
  } catch (const CLI::ParseError &e) {
    throw ConfigError("command line", e.what());
  }

  util::SettingValues values;
  std::map<std::string, bool, std::less<>> given;
  for (const auto &setting : settings) {
    if (options[setting.env]->count() > 0) {
      values.set(setting.env, flag_values[setting.env]);
      given[setting.env] = true;
    } else if (auto from_env = env(setting.env)) {
      values.set(setting.env, std::move(*from_env));
      given[setting.env] = true;
    } else {
      values.set(setting.env, setting.fallback);
      given[setting.env] = false;
    }
  }

  std::string config_file;
  if (config_option->count() > 0)
    config_file = config_flag;
  else if (auto from_env = env(k_config_file_setting.env))
    config_file = std::move(*from_env);
  std::vector<std::string> warnings;
  if (!config_file.empty())
    apply_file(config_file, values, given, warnings);

  Config config = convert(values);
  config.config_file = std::move(config_file);
  config.warnings = std::move(warnings);
  return config;
}

} // namespace dovewarden::config
