#include "config/Config.hpp"

#include "config/ConfigError.hpp"
#include "config/EnvFile.hpp"
#include "dovewarden-config.h"
#include "filter/TypeFilter.hpp"
#include "replication/Trigger.hpp"
#include "util/Duration.hpp"
#include "util/Strings.hpp"
#include "webhook/AddressPolicy.hpp"
#include "webhook/RetrySchedule.hpp"

#include <CLI/CLI.hpp>

#include <grp.h>

#include <array>
#include <cerrno>
#include <cstdlib>
#include <limits>
#include <map>
#include <ostream>

namespace dovewarden::config {

namespace {

struct Setting {
  const char *env;
  const char *flag;
  const char *metavar;
  const char *fallback;
  const char *help;
};

constexpr const char *k_config_env = "DOVEWARDEN_CONFIG";

// the one list of settings: --help, the environment and the file all read it
constexpr std::array<Setting, 44> k_settings{{
    {"DOVEWARDEN_ZMQ_ENDPOINT", "--zmq-endpoint", "ENDPOINT",
     "ipc:///run/dovewarden/events.sock",
     "ZeroMQ endpoint the PULL socket binds: ipc://PATH or tcp://HOST:PORT"},
    {"DOVEWARDEN_ZMQ_SOCKET_MODE", "--zmq-socket-mode", "MODE", "0666",
     "permissions of the ipc socket file, octal"},
    {"DOVEWARDEN_ZMQ_SOCKET_GROUP", "--zmq-socket-group", "GROUP", "",
     "group (name or gid) of the ipc socket file; empty keeps the daemon's"},
    {"DOVEWARDEN_ZMQ_RCVHWM", "--zmq-rcvhwm", "COUNT", "100000",
     "messages the PULL socket queues before senders find it full"},
    {"DOVEWARDEN_STREAM", "--stream", "PATH", "",
     "write events as JSON lines to PATH (appending) or - for stdout; empty: "
     "off"},
    {"DOVEWARDEN_STREAM_EVENTS", "--stream-events", "GLOBS", "*",
     "comma-separated event-type globs the stream carries, e.g. message.*"},
    {"DOVEWARDEN_STREAM_FLUSH_INTERVAL", "--stream-flush-interval", "DURATION",
     "200ms", "write the stream's batch at least this often"},
    {"DOVEWARDEN_STREAM_FLUSH_BYTES", "--stream-flush-bytes", "BYTES", "65536",
     "write the stream's batch once it holds this many bytes"},
    {"DOVEWARDEN_METRICS_ADDR", "--metrics-addr", "ADDR", "127.0.0.1:9090",
     "HOST:PORT serving /metrics, /healthz and /readyz; empty: off"},
    {"DOVEWARDEN_HTTP_ADDR", "--http-addr", "ADDR", "127.0.0.1:8080",
     "HOST:PORT taking Dovecot's event_exporter JSON on POST /events; empty: "
     "off"},
    {"DOVEWARDEN_DOVEADM_URL", "--doveadm-url", "URL", "",
     "doveadm on this server: its HTTP API (http://127.0.0.1:8081) or its "
     "server socket (unix:/run/dovecot/doveadm-server, tcp:HOST:PORT); empty: "
     "no "
     "replication"},
    {"DOVEWARDEN_DOVEADM_PASSWORD", "--doveadm-password", "SECRET", "",
     "doveadm_password (HTTP API, tcp:, a unix: socket not of mode 0600)"},
    {"DOVEWARDEN_DOVEADM_API_KEY", "--doveadm-api-key", "SECRET", "",
     "doveadm_api_key, instead of the password"},
    {"DOVEWARDEN_DOVEADM_DEST", "--doveadm-dest", "DEST", "",
     "where dsync replicates to, e.g. tcp:replica.example.com:12345"},
    {"DOVEWARDEN_DOVEADM_DEST_FROM_USERDB", "--doveadm-dest-from-userdb",
     "BOOL", "false",
     "replicate each user to its userdb field mail_replica, as 2.3's sync -d "
     "did; DOVEWARDEN_DOVEADM_DEST for users without one"},
    {"DOVEWARDEN_DOVEADM_TIMEOUT", "--doveadm-timeout", "DURATION", "30m",
     "the longest one doveadm request may take"},
    {"DOVEWARDEN_USERDB_CACHE_TTL", "--userdb-cache-ttl", "DURATION", "1m",
     "how long a user's userdb fields (noreplicate, mail_replica) are kept "
     "before doveadm user is asked again; 0s: every sync asks"},
    {"DOVEWARDEN_USERDB_CACHE_SIZE", "--userdb-cache-size", "COUNT", "100000",
     "users whose userdb fields are kept at most"},
    {"DOVEWARDEN_REDIS_MODE", "--redis-mode", "MODE", "embedded",
     "replication store: embedded (SQLite; inmemory is the same) or external "
     "(Redis)"},
    {"DOVEWARDEN_STORE_PATH", "--store-path", "DIR", "/var/lib/dovewarden",
     "directory of the embedded store and the generated admin token"},
    {"DOVEWARDEN_REDIS_ADDR", "--redis-addr", "HOST:PORT", "127.0.0.1:6379",
     "Redis server of the external store"},
    {"DOVEWARDEN_REDIS_PASSWORD", "--redis-password", "SECRET", "",
     "Redis AUTH password"},
    {"DOVEWARDEN_NAMESPACE", "--namespace", "NAME", "dovewarden",
     "prefix of every Redis key; daemons sharing a queue use the same"},
    {"DOVEWARDEN_NUM_WORKERS", "--num-workers", "COUNT", "4",
     "syncs run at once"},
    {"DOVEWARDEN_FULL_SYNC_INTERVAL", "--full-sync-interval", "DURATION", "24h",
     "a user's sync is a full one if its last was longer ago"},
    {"DOVEWARDEN_REPLICATION_RETRY_MIN", "--replication-retry-min", "DURATION",
     "10s", "wait after a user's first failed sync"},
    {"DOVEWARDEN_REPLICATION_RETRY_MAX", "--replication-retry-max", "DURATION",
     "10m", "longest wait between failed syncs (doubling, +-20%)"},
    {"DOVEWARDEN_REPLICATION_HIGH_EVENTS", "--replication-high-events",
     "TRIGGERS", replication::Trigger::k_default_high,
     "events that queue their user at high priority; see docs/replication.md"},
    {"DOVEWARDEN_REPLICATION_LOW_EVENTS", "--replication-low-events",
     "TRIGGERS", replication::Trigger::k_default_low,
     "events that queue their user at low priority"},
    {"DOVEWARDEN_BACKGROUND_REPLICATION_ENABLED",
     "--background-replication-enabled", "BOOL", "true",
     "sweep all users (doveadm user '*') at start and every interval"},
    {"DOVEWARDEN_BACKGROUND_REPLICATION_INTERVAL",
     "--background-replication-interval", "DURATION", "1h",
     "how often the sweep runs"},
    {"DOVEWARDEN_BACKGROUND_REPLICATION_THRESHOLD",
     "--background-replication-threshold", "DURATION", "24h",
     "the sweep queues users not synced within this"},
    {"DOVEWARDEN_ADMIN_ADDR", "--admin-addr", "ADDR", "127.0.0.1:9091",
     "HOST:PORT of the admin API (dovewarden command); empty: off"},
    {"DOVEWARDEN_ADMIN_TOKEN", "--admin-token", "SECRET", "",
     "bearer token of the admin API; empty: DOVEWARDEN_ADMIN_TOKEN_FILE"},
    {"DOVEWARDEN_ADMIN_TOKEN_FILE", "--admin-token-file", "PATH", "",
     "file holding the token; empty: STORE_PATH/admin.token, made if absent"},
    {"DOVEWARDEN_WEBHOOKS_ENABLED", "--webhooks-enabled", "BOOL", "true",
     "deliver events to the webhook endpoints (dovewarden webhook add)"},
    {"DOVEWARDEN_WEBHOOK_RETRY_SCHEDULE", "--webhook-retry-schedule",
     "DURATIONS", "0s,5s,5m,30m,2h,5h,10h,10h",
     "wait before each attempt of a delivery (+-20%); failed after the last"},
    {"DOVEWARDEN_WEBHOOK_ALLOW_NETS", "--webhook-allow-nets", "CIDRS", "",
     "private, loopback, ... networks webhooks may still reach, e.g. "
     "10.1.0.0/16"},
    {"DOVEWARDEN_WEBHOOK_DISABLE_AFTER", "--webhook-disable-after", "DURATION",
     "5d",
     "disable an endpoint whose attempts all failed this long; 0s: never"},
    {"DOVEWARDEN_WEBHOOK_MAX_PAYLOAD", "--webhook-max-payload", "BYTES",
     "262144", "events whose payload is larger are not delivered (counted)"},
    {"DOVEWARDEN_WEBHOOK_MAX_IN_FLIGHT", "--webhook-max-in-flight", "COUNT",
     "64", "webhook requests in flight at once, all endpoints together"},
    {"DOVEWARDEN_WEBHOOK_RETENTION", "--webhook-retention", "DURATION", "7d",
     "how long finished deliveries stay in the delivery log"},
    {"DOVEWARDEN_LOG_LEVEL", "--log-level", "LEVEL", "info",
     "debug, info, warn or error; logs go to stderr"},
    {"DOVEWARDEN_SHUTDOWN_TIMEOUT", "--shutdown-timeout", "DURATION", "5s",
     "how long SIGTERM may spend draining before exiting anyway"},
}};

using Values = std::map<std::string, std::string, std::less<>>;

std::string invalid(const char *what, const std::string &value,
                    const std::string &why) {
  return std::string("invalid ") + what + " " + util::quote(value) + ": " + why;
}

std::chrono::milliseconds duration(const Values &values, const char *env) {
  const auto &text = values.at(env);
  const auto parsed = util::parse_duration(text);
  if (!parsed)
    throw ConfigError(env, invalid("duration", text, parsed.error()));
  return *parsed;
}

// A duration that must not be zero: the waits of loops and timeouts.
std::chrono::milliseconds positive_duration(const Values &values,
                                            const char *env) {
  const auto value = duration(values, env);
  if (value.count() <= 0)
    throw ConfigError(
        env, invalid("duration", values.at(env), "must be longer than 0s"));
  return value;
}

std::uint64_t number(const Values &values, const char *env, std::uint64_t min,
                     std::uint64_t max, int base = 10) {
  const auto &text = values.at(env);
  const auto parsed = util::parse_unsigned(text, max, base);
  if (!parsed)
    throw ConfigError(env, invalid("number", text, parsed.error()));
  if (*parsed < min)
    throw ConfigError(env, invalid("number", text,
                                   "expected at least " + std::to_string(min)));
  return *parsed;
}

void check_endpoint(const std::string &endpoint) {
  const char *env = "DOVEWARDEN_ZMQ_ENDPOINT";
  const auto scheme_end = endpoint.find("://");
  const auto scheme = endpoint.substr(0, scheme_end);
  const bool known = scheme == "ipc" || scheme == "tcp";
  if (scheme_end == std::string::npos || !known ||
      endpoint.size() == scheme_end + 3)
    throw ConfigError(env, invalid("endpoint", endpoint,
                                   "expected ipc://PATH or tcp://HOST:PORT"));
}

std::optional<gid_t> group(const std::string &text) {
  const char *env = "DOVEWARDEN_ZMQ_SOCKET_GROUP";
  if (text.empty())
    return std::nullopt;
  const auto numeric =
      util::parse_unsigned(text, std::numeric_limits<gid_t>::max() - 1);
  if (numeric)
    return static_cast<gid_t>(*numeric);
  std::vector<char> buffer(4096);
  struct group entry {};
  struct group *found = nullptr;
  while (true) {
    const int err =
        getgrnam_r(text.c_str(), &entry, buffer.data(), buffer.size(), &found);
    if (err == ERANGE && buffer.size() < (1u << 20)) {
      buffer.resize(buffer.size() * 2);
      continue;
    }
    break;
  }
  if (found == nullptr)
    throw ConfigError(env, "unknown group " + util::quote(text));
  return found->gr_gid;
}

std::optional<util::ListenAddress> optional_address(const Values &values,
                                                    const char *env) {
  const auto &text = values.at(env);
  if (text.empty())
    return std::nullopt;
  const auto address = util::ListenAddress::parse(text);
  if (!address)
    throw ConfigError(env, invalid("address", text, address.error()));
  return *address;
}

bool boolean(const Values &values, const char *env) {
  const auto &text = values.at(env);
  if (text == "true" || text == "yes" || text == "1")
    return true;
  if (text == "false" || text == "no" || text == "0")
    return false;
  throw ConfigError(env, invalid("boolean", text, "expected true or false"));
}

StoreMode store_mode(const Values &values) {
  const auto &text = values.at("DOVEWARDEN_REDIS_MODE");
  if (text == "embedded" || text == "inmemory")
    return StoreMode::embedded;
  if (text == "external")
    return StoreMode::redis;
  throw ConfigError("DOVEWARDEN_REDIS_MODE",
                    invalid("mode", text, "expected embedded or external"));
}

bool starts_with(const std::string &text, const char *prefix) {
  return text.rfind(prefix, 0) == 0;
}

// Returns whether url names doveadm's own protocol (unix: or tcp:) rather
// than its HTTP API.
bool check_url(const std::string &url) {
  if (url.empty() || starts_with(url, "http://") ||
      starts_with(url, "https://"))
    return false;
  if (starts_with(url, "unix:") || starts_with(url, "tcp:"))
    return true;
  throw ConfigError("DOVEWARDEN_DOVEADM_URL",
                    invalid("URL", url,
                            "expected http://HOST:PORT, unix:PATH or "
                            "tcp:HOST:PORT"));
}

replication::Trigger trigger(const Values &values) {
  const auto parsed = replication::Trigger::parse(
      values.at("DOVEWARDEN_REPLICATION_HIGH_EVENTS"),
      values.at("DOVEWARDEN_REPLICATION_LOW_EVENTS"));
  if (!parsed)
    throw ConfigError(parsed.error().setting, parsed.error().message);
  return *parsed;
}

void convert_replication(const Values &values, Config &config) {
  auto &r = config.replication;
  r.doveadm_url = values.at("DOVEWARDEN_DOVEADM_URL");
  const bool doveadm_protocol = check_url(r.doveadm_url);
  r.doveadm_password = values.at("DOVEWARDEN_DOVEADM_PASSWORD");
  r.doveadm_api_key = values.at("DOVEWARDEN_DOVEADM_API_KEY");
  r.doveadm_dest = values.at("DOVEWARDEN_DOVEADM_DEST");
  if (!r.doveadm_url.empty() && r.doveadm_dest.empty())
    throw ConfigError("DOVEWARDEN_DOVEADM_DEST",
                      "must be set when DOVEWARDEN_DOVEADM_URL is");
  r.doveadm_dest_from_userdb =
      boolean(values, "DOVEWARDEN_DOVEADM_DEST_FROM_USERDB");
  if (doveadm_protocol) {
    if (!r.doveadm_api_key.empty())
      throw ConfigError("DOVEWARDEN_DOVEADM_API_KEY",
                        "doveadm's own protocol (unix:, tcp:) has no API "
                        "keys; set DOVEWARDEN_DOVEADM_PASSWORD");
    if (starts_with(r.doveadm_url, "tcp:") && r.doveadm_password.empty())
      throw ConfigError("DOVEWARDEN_DOVEADM_PASSWORD",
                        "must be set for a tcp: doveadm listener");
  } else if (r.enabled() &&
             r.doveadm_password.empty() == r.doveadm_api_key.empty()) {
    throw ConfigError("DOVEWARDEN_DOVEADM_PASSWORD",
                      "set either it or DOVEWARDEN_DOVEADM_API_KEY, not both "
                      "or neither");
  }
  r.doveadm_timeout = positive_duration(values, "DOVEWARDEN_DOVEADM_TIMEOUT");
  r.userdb_cache_ttl = duration(values, "DOVEWARDEN_USERDB_CACHE_TTL");
  r.userdb_cache_size = static_cast<std::size_t>(
      number(values, "DOVEWARDEN_USERDB_CACHE_SIZE", 1, 100000000));
  r.store = store_mode(values);
  r.store_path = values.at("DOVEWARDEN_STORE_PATH");
  const auto &redis = values.at("DOVEWARDEN_REDIS_ADDR");
  const auto redis_addr = util::ListenAddress::parse(redis);
  if (!redis_addr || redis_addr->host.empty())
    throw ConfigError("DOVEWARDEN_REDIS_ADDR",
                      invalid("address", redis, "expected HOST:PORT"));
  r.redis_addr = *redis_addr;
  r.redis_password = values.at("DOVEWARDEN_REDIS_PASSWORD");
  r.redis_namespace = values.at("DOVEWARDEN_NAMESPACE");
  r.workers =
      static_cast<unsigned>(number(values, "DOVEWARDEN_NUM_WORKERS", 1, 1000));
  r.full_sync_interval =
      positive_duration(values, "DOVEWARDEN_FULL_SYNC_INTERVAL");
  r.retry_min = positive_duration(values, "DOVEWARDEN_REPLICATION_RETRY_MIN");
  r.retry_max = positive_duration(values, "DOVEWARDEN_REPLICATION_RETRY_MAX");
  if (r.retry_max < r.retry_min)
    throw ConfigError(
        "DOVEWARDEN_REPLICATION_RETRY_MAX",
        "must not be shorter than DOVEWARDEN_REPLICATION_RETRY_MIN");
  r.trigger = trigger(values);
  r.sweep_enabled =
      boolean(values, "DOVEWARDEN_BACKGROUND_REPLICATION_ENABLED");
  r.sweep_interval =
      positive_duration(values, "DOVEWARDEN_BACKGROUND_REPLICATION_INTERVAL");
  r.sweep_threshold =
      duration(values, "DOVEWARDEN_BACKGROUND_REPLICATION_THRESHOLD");
}

void convert_webhooks(const Values &values, WebhookConfig &w) {
  w.enabled = boolean(values, "DOVEWARDEN_WEBHOOKS_ENABLED");
  const auto &schedule = values.at("DOVEWARDEN_WEBHOOK_RETRY_SCHEDULE");
  auto parsed = webhook::RetrySchedule::parse(schedule);
  if (!parsed)
    throw ConfigError("DOVEWARDEN_WEBHOOK_RETRY_SCHEDULE", parsed.error());
  w.retry_schedule = parsed->delays();
  w.allow_nets = values.at("DOVEWARDEN_WEBHOOK_ALLOW_NETS");
  if (const auto policy = webhook::AddressPolicy::parse(w.allow_nets); !policy)
    throw ConfigError("DOVEWARDEN_WEBHOOK_ALLOW_NETS", policy.error());
  w.disable_after = duration(values, "DOVEWARDEN_WEBHOOK_DISABLE_AFTER");
  w.max_payload = static_cast<std::size_t>(
      number(values, "DOVEWARDEN_WEBHOOK_MAX_PAYLOAD", 1024, 64u << 20));
  w.max_in_flight = static_cast<unsigned>(
      number(values, "DOVEWARDEN_WEBHOOK_MAX_IN_FLIGHT", 1, 10000));
  w.retention = positive_duration(values, "DOVEWARDEN_WEBHOOK_RETENTION");
}

Config convert(const Values &values) {
  Config config;
  config.zmq_endpoint = values.at("DOVEWARDEN_ZMQ_ENDPOINT");
  check_endpoint(config.zmq_endpoint);
  config.zmq_socket_mode = static_cast<mode_t>(
      number(values, "DOVEWARDEN_ZMQ_SOCKET_MODE", 0, 0777, 8));
  config.zmq_socket_group = group(values.at("DOVEWARDEN_ZMQ_SOCKET_GROUP"));
  config.zmq_rcvhwm = static_cast<int>(
      number(values, "DOVEWARDEN_ZMQ_RCVHWM", 0,
             static_cast<std::uint64_t>(std::numeric_limits<int>::max())));

  config.stream = values.at("DOVEWARDEN_STREAM");
  config.stream_events = values.at("DOVEWARDEN_STREAM_EVENTS");
  const auto filter = filter::TypeFilter::parse(config.stream_events);
  if (!filter)
    throw ConfigError("DOVEWARDEN_STREAM_EVENTS",
                      invalid("globs", config.stream_events, filter.error()));
  config.stream_flush_interval =
      duration(values, "DOVEWARDEN_STREAM_FLUSH_INTERVAL");
  config.stream_flush_bytes = static_cast<std::size_t>(
      number(values, "DOVEWARDEN_STREAM_FLUSH_BYTES", 1, 1u << 30));

  config.metrics_addr = optional_address(values, "DOVEWARDEN_METRICS_ADDR");

  config.http_addr = optional_address(values, "DOVEWARDEN_HTTP_ADDR");
  convert_replication(values, config);
  config.admin_addr = optional_address(values, "DOVEWARDEN_ADMIN_ADDR");
  config.admin_token = values.at("DOVEWARDEN_ADMIN_TOKEN");
  config.admin_token_file = values.at("DOVEWARDEN_ADMIN_TOKEN_FILE");
  convert_webhooks(values, config.webhooks);

  const auto &level_text = values.at("DOVEWARDEN_LOG_LEVEL");
  const auto level = util::Logger::parse_level(level_text);
  if (!level)
    throw ConfigError("DOVEWARDEN_LOG_LEVEL",
                      invalid("level", level_text, level.error()));
  config.log_level = *level;
  config.shutdown_timeout = duration(values, "DOVEWARDEN_SHUTDOWN_TIMEOUT");
  return config;
}

// Fills in what the file says for settings that neither a flag nor the
// environment gave. Unknown keys are remarked on, not fatal: the file may
// come from a newer version.
void apply_file(const std::string &path, Values &values,
                const std::map<std::string, bool, std::less<>> &given,
                std::vector<std::string> &warnings) {
  const auto file = EnvFile::read(path);
  for (const auto &[key, value] : file.entries()) {
    const auto it = given.find(key);
    if (it == given.end()) {
      // once per unknown key, at start: + reads better than append()
      // NOLINTNEXTLINE(performance-inefficient-string-concatenation)
      warnings.push_back(path + ": ignoring unknown setting " + key);
      continue;
    }
    if (!it->second)
      values[key] = value;
  }
}

} // namespace

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
  for (const auto &setting : k_settings) {
    auto *option = app.add_option(
        setting.flag, flag_values[setting.env],
        std::string(setting.help) + " [default: " +
            (setting.fallback[0] != '\0' ? setting.fallback : "empty") + "]");
    option->option_text(std::string(setting.metavar) + " (env " + setting.env +
                        ")");
    options[setting.env] = option;
  }
  std::string config_flag;
  auto *config_option =
      app.add_option("--config", config_flag,
                     "read settings from an env-style file [default: none]")
          ->option_text(std::string("FILE (env ") + k_config_env + ")");

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

  Values values;
  std::map<std::string, bool, std::less<>> given;
  for (const auto &setting : k_settings) {
    if (options[setting.env]->count() > 0) {
      values[setting.env] = flag_values[setting.env];
      given[setting.env] = true;
    } else if (auto from_env = env(setting.env)) {
      values[setting.env] = std::move(*from_env);
      given[setting.env] = true;
    } else {
      values[setting.env] = setting.fallback;
      given[setting.env] = false;
    }
  }

  std::string config_file;
  if (config_option->count() > 0)
    config_file = config_flag;
  else if (auto from_env = env(k_config_env))
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
