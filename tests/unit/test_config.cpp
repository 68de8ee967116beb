#include "config/Config.hpp"
#include "util/ConfigError.hpp"
#include "util/ListenAddress.hpp"

#include <boost/test/unit_test.hpp>
#include <zmq.h>

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>

namespace bus = dovewarden::bus;
namespace util = dovewarden::util;
using dovewarden::config::Config;
using dovewarden::util::ConfigError;

namespace {

using Env = std::map<std::string, std::string>;

Config::EnvLookup lookup(const Env &env) {
  return [env](const char *name) -> std::optional<std::string> {
    const auto it = env.find(name);
    if (it == env.end())
      return std::nullopt;
    return it->second;
  };
}

Config parse(std::vector<std::string> args, const Env &env = {}) {
  std::vector<const char *> argv{"dovewardend"};
  for (const auto &arg : args)
    argv.push_back(arg.c_str());
  std::ostringstream out;
  const auto config = Config::from_command_line(static_cast<int>(argv.size()),
                                                argv.data(), lookup(env), out);
  BOOST_REQUIRE(config);
  return *config;
}

// Returns the error line parsing gives, or "" if it succeeds.
std::string error_of(std::vector<std::string> args, const Env &env = {}) {
  try {
    parse(std::move(args), env);
  } catch (const ConfigError &e) {
    return e.what();
  }
  return "";
}

// A file that is removed when the test ends.
class TempFile {
public:
  explicit TempFile(const std::string &text) {
    char name[] = "/tmp/dovewarden-test-XXXXXX";
    const int fd = ::mkstemp(name);
    BOOST_REQUIRE(fd >= 0);
    ::close(fd);
    m_path = name;
    std::ofstream(m_path) << text;
  }
  ~TempFile() { std::remove(m_path.c_str()); }
  const std::string &path() const { return m_path; }

private:
  std::string m_path;
};

} // namespace

BOOST_AUTO_TEST_SUITE(config)

BOOST_AUTO_TEST_CASE(defaults) {
  const auto c = parse({});
  BOOST_TEST(c.zmq.endpoint == "ipc:///run/dovewarden/events.sock");
  BOOST_TEST(c.zmq.socket_mode == 0666u);
  BOOST_TEST(!c.zmq.socket_group.has_value());
  BOOST_TEST(c.zmq.rcvhwm == 100000);
  BOOST_TEST(c.stream == "");
  BOOST_TEST(c.stream_events == "*");
  BOOST_TEST(c.stream_flush_interval.count() == 200);
  BOOST_TEST(c.stream_flush_bytes == 65536u);
  BOOST_TEST(c.stream_queue == 10000u);
  BOOST_TEST((c.stream_overflow == bus::Bus::Overflow::drop));
  BOOST_REQUIRE(c.metrics_addr.has_value());
  BOOST_TEST(c.metrics_addr->to_string() == "127.0.0.1:9960");
  BOOST_TEST((c.log_level == util::LogLevel::info));
  BOOST_TEST(c.shutdown_timeout.count() == 5000);
}

BOOST_AUTO_TEST_CASE(environment_sets_and_flags_override) {
  const Env env{{"DOVEWARDEN_ZMQ_ENDPOINT", "tcp://127.0.0.1:5555"},
                {"DOVEWARDEN_STREAM", "-"},
                {"DOVEWARDEN_ZMQ_SOCKET_MODE", "0660"},
                {"DOVEWARDEN_LOG_LEVEL", "warn"}};
  auto c = parse({}, env);
  BOOST_TEST(c.zmq.endpoint == "tcp://127.0.0.1:5555");
  BOOST_TEST(c.stream == "-");
  BOOST_TEST(c.zmq.socket_mode == 0660u);
  BOOST_TEST((c.log_level == util::LogLevel::warn));
  c = parse({"--zmq-endpoint", "ipc:///tmp/x.sock", "--log-level=debug"}, env);
  BOOST_TEST(c.zmq.endpoint == "ipc:///tmp/x.sock");
  BOOST_TEST((c.log_level == util::LogLevel::debug));
  BOOST_TEST(c.stream == "-");
}

BOOST_AUTO_TEST_CASE(stream_overflow_is_drop_or_block) {
  const auto c = parse({"--stream-overflow", "block", "--stream-queue", "5"});
  BOOST_TEST((c.stream_overflow == bus::Bus::Overflow::block));
  BOOST_TEST(c.stream_queue == 5u);
  BOOST_TEST(error_of({}, {{"DOVEWARDEN_STREAM_OVERFLOW", "wait"}}) ==
             "DOVEWARDEN_STREAM_OVERFLOW: invalid policy \"wait\": expected "
             "drop or block");
  BOOST_TEST(error_of({}, {{"DOVEWARDEN_STREAM_QUEUE", "0"}})
                 .rfind("DOVEWARDEN_STREAM_QUEUE: ", 0) == 0);
}

BOOST_AUTO_TEST_CASE(empty_metrics_address_disables_metrics) {
  BOOST_TEST(!parse({}, {{"DOVEWARDEN_METRICS_ADDR", ""}}).metrics_addr);
  BOOST_TEST(!parse({"--metrics-addr", ""}).metrics_addr);
  BOOST_TEST(parse({"--metrics-addr", ":9100"}).metrics_addr->port == 9100);
}

BOOST_AUTO_TEST_CASE(bad_value_names_the_setting_in_one_line) {
  BOOST_TEST(error_of({}, {{"DOVEWARDEN_METRICS_ADDR", "foo"}}) ==
             "DOVEWARDEN_METRICS_ADDR: invalid address \"foo\": expected "
             "HOST:PORT, [IPV6]:PORT or :PORT");
  // a flag is named by its setting too
  BOOST_TEST(error_of({"--metrics-addr", "foo"})
                 .rfind("DOVEWARDEN_METRICS_ADDR: ", 0) == 0);
  BOOST_TEST(error_of({"--shutdown-timeout", "5"})
                 .rfind("DOVEWARDEN_SHUTDOWN_TIMEOUT: invalid duration \"5\"",
                        0) == 0);
  BOOST_TEST(error_of({}, {{"DOVEWARDEN_STREAM_FLUSH_INTERVAL", "fast"}})
                 .rfind("DOVEWARDEN_STREAM_FLUSH_INTERVAL: ", 0) == 0);
  BOOST_TEST(error_of({}, {{"DOVEWARDEN_ZMQ_SOCKET_MODE", "0999"}})
                 .rfind("DOVEWARDEN_ZMQ_SOCKET_MODE: ", 0) == 0);
  BOOST_TEST(error_of({}, {{"DOVEWARDEN_ZMQ_SOCKET_MODE", "01777"}})
                 .rfind("DOVEWARDEN_ZMQ_SOCKET_MODE: ", 0) == 0);
  BOOST_TEST(error_of({}, {{"DOVEWARDEN_ZMQ_RCVHWM", "-1"}})
                 .rfind("DOVEWARDEN_ZMQ_RCVHWM: ", 0) == 0);
  BOOST_TEST(error_of({}, {{"DOVEWARDEN_ZMQ_ENDPOINT", "/run/x.sock"}})
                 .rfind("DOVEWARDEN_ZMQ_ENDPOINT: ", 0) == 0);
  BOOST_TEST(error_of({}, {{"DOVEWARDEN_LOG_LEVEL", "loud"}}) ==
             "DOVEWARDEN_LOG_LEVEL: invalid level \"loud\": expected debug, "
             "info, warn or error");
  BOOST_TEST(error_of({}, {{"DOVEWARDEN_STREAM_EVENTS", " , "}})
                 .rfind("DOVEWARDEN_STREAM_EVENTS: ", 0) == 0);
  BOOST_TEST(error_of({}, {{"DOVEWARDEN_STREAM_FLUSH_BYTES", "0"}})
                 .rfind("DOVEWARDEN_STREAM_FLUSH_BYTES: ", 0) == 0);
  BOOST_TEST(error_of({}, {{"DOVEWARDEN_ZMQ_SOCKET_GROUP",
                            "no-such-group-dovewarden"}}) ==
             "DOVEWARDEN_ZMQ_SOCKET_GROUP: unknown group "
             "\"no-such-group-dovewarden\"");
  for (const auto &e : {error_of({"--no-such-flag"}), error_of({"stray"})})
    BOOST_TEST(e.find('\n') == std::string::npos);
  BOOST_TEST(!error_of({"--no-such-flag"}).empty());
}

BOOST_AUTO_TEST_CASE(socket_group_by_number_or_name) {
  BOOST_TEST(*parse({"--zmq-socket-group", "123"}).zmq.socket_group == 123u);
  BOOST_TEST(*parse({"--zmq-socket-group", "root"}).zmq.socket_group == 0u);
}

BOOST_AUTO_TEST_CASE(ipc_peers_by_uid_and_gid) {
  const auto defaults = parse({}).zmq.peers;
  BOOST_TEST(defaults.allows(0, 0));          // root: lmtp before it drops
  BOOST_TEST(defaults.allows(5000, 5000));    // a vmail user
  BOOST_TEST(!defaults.allows(33, 33));       // www-data
  BOOST_TEST(!defaults.allows(65534, 65534)); // nobody
  const auto listed =
      parse({"--zmq-allow-uids", "root, 5000-5002", "--zmq-allow-gids", "1234"})
          .zmq.peers;
  BOOST_TEST(listed.allows(5002, 1));
  BOOST_TEST(listed.allows(33, 1234));
  BOOST_TEST(!listed.allows(5003, 5003));
  BOOST_TEST(parse({"--zmq-allow-uids", "*"}).zmq.peers.allows(33, 33));
  BOOST_TEST(error_of({"--zmq-allow-uids", "no-such-user-dovewarden"}) ==
             "DOVEWARDEN_ZMQ_ALLOW_UIDS: unknown user "
             "\"no-such-user-dovewarden\"");
  BOOST_TEST(error_of({"--zmq-allow-gids", "9-1"}) ==
             "DOVEWARDEN_ZMQ_ALLOW_GIDS: empty range \"9-1\"");
}

BOOST_AUTO_TEST_CASE(curve_secret_key_file_must_be_the_daemons_alone) {
  char server_public[41], server_secret[41], client_public[41],
      client_secret[41];
  BOOST_REQUIRE(zmq_curve_keypair(server_public, server_secret) == 0);
  BOOST_REQUIRE(zmq_curve_keypair(client_public, client_secret) == 0);
  const TempFile key(std::string(server_secret) + "\n");
  const std::vector<std::string> args{"--zmq-curve-secret-key-file", key.path(),
                                      "--zmq-curve-client-keys", client_public};
  ::chmod(key.path().c_str(), 0640);
  const auto error = error_of(args);
  BOOST_TEST(error.rfind("DOVEWARDEN_ZMQ_CURVE_SECRET_KEY_FILE: ", 0) == 0);
  BOOST_TEST(error.find("0640") != std::string::npos);
  BOOST_TEST(error.find(server_secret) == std::string::npos);

  ::chmod(key.path().c_str(), 0600);
  const auto c = parse(args);
  BOOST_TEST(c.zmq.curve_secret_key == server_secret);
  BOOST_TEST(c.zmq.curve_keys.size() == 1u);
  BOOST_TEST(error_of({"--zmq-curve-secret-key-file", key.path()})
                 .rfind("DOVEWARDEN_ZMQ_CURVE_CLIENT_KEYS: required", 0) == 0);
  BOOST_TEST(error_of({"--zmq-curve-client-keys", client_public})
                 .rfind("DOVEWARDEN_ZMQ_CURVE_CLIENT_KEYS: needs", 0) == 0);
}

BOOST_AUTO_TEST_CASE(help_lists_every_setting_with_env_and_default) {
  std::vector<const char *> argv{"dovewardend", "--help"};
  std::ostringstream out;
  const auto config =
      Config::from_command_line(2, argv.data(), lookup({}), out);
  BOOST_TEST(!config.has_value());
  const auto help = out.str();
  for (const char *text : {"--zmq-endpoint",
                           "DOVEWARDEN_ZMQ_ENDPOINT",
                           "ipc:///run/dovewarden/events.sock",
                           "DOVEWARDEN_ZMQ_SOCKET_MODE",
                           "DOVEWARDEN_ZMQ_SOCKET_GROUP",
                           "DOVEWARDEN_ZMQ_RCVHWM",
                           "DOVEWARDEN_STREAM",
                           "DOVEWARDEN_STREAM_EVENTS",
                           "DOVEWARDEN_STREAM_FLUSH_INTERVAL",
                           "DOVEWARDEN_STREAM_FLUSH_BYTES",
                           "DOVEWARDEN_STREAM_QUEUE",
                           "DOVEWARDEN_STREAM_OVERFLOW",
                           "DOVEWARDEN_METRICS_ADDR",
                           "127.0.0.1:9960",
                           "DOVEWARDEN_LOG_LEVEL",
                           "DOVEWARDEN_SHUTDOWN_TIMEOUT",
                           "--config",
                           "DOVEWARDEN_CONFIG",
                           "--audit-dsn",
                           "DOVEWARDEN_AUDIT_RETENTION_DAYS"}) {
    BOOST_TEST_CONTEXT(text) {
      BOOST_TEST(help.find(text) != std::string::npos);
    }
  }
}

BOOST_AUTO_TEST_CASE(file_applies_below_environment_and_flags) {
  const TempFile file("# dovewarden settings\n"
                      "DOVEWARDEN_LOG_LEVEL=debug\n"
                      "export DOVEWARDEN_ZMQ_RCVHWM=5\n"
                      "DOVEWARDEN_STREAM_EVENTS=\"message.*, flags.*\"\n"
                      "DOVEWARDEN_METRICS_ADDR=:9101 # trailing comment\n"
                      "DOVEWARDEN_FROM_THE_FUTURE=1\n");
  auto c = parse({"--config", file.path()}, {{"DOVEWARDEN_ZMQ_RCVHWM", "7"}});
  BOOST_TEST((c.log_level == util::LogLevel::debug));
  BOOST_TEST(c.zmq.rcvhwm == 7);
  BOOST_TEST(c.stream_events == "message.*, flags.*");
  BOOST_TEST(c.metrics_addr->port == 9101);
  BOOST_REQUIRE_EQUAL(c.warnings.size(), 1u);
  BOOST_TEST(c.warnings[0].find("DOVEWARDEN_FROM_THE_FUTURE") !=
             std::string::npos);
  c = parse({"--log-level", "error"}, {{"DOVEWARDEN_CONFIG", file.path()}});
  BOOST_TEST((c.log_level == util::LogLevel::error));
  BOOST_TEST(c.zmq.rcvhwm == 5);
  BOOST_TEST(c.config_file == file.path());
}

BOOST_AUTO_TEST_CASE(a_misspelt_key_in_the_file_is_named_with_the_nearest) {
  const TempFile file("DOVEWARDEN_METRIC_ADDR=127.0.0.1:9101\n"
                      "DOVEWARDEN_XYZZY=1\n"
                      "STREAM_EVENTS=message.*\n");
  const auto c = parse({"--config", file.path()}, {});
  BOOST_REQUIRE_EQUAL(c.warnings.size(), 3u);
  BOOST_TEST(c.warnings[0] ==
             file.path() +
                 ": ignoring unknown setting DOVEWARDEN_METRIC_ADDR; did you "
                 "mean 'DOVEWARDEN_METRICS_ADDR'?");
  BOOST_TEST(c.warnings[1] ==
             file.path() + ": ignoring unknown setting DOVEWARDEN_XYZZY");
  // the prefix left out
  BOOST_TEST(c.warnings[2] ==
             file.path() +
                 ": ignoring unknown setting STREAM_EVENTS; did you mean "
                 "'DOVEWARDEN_STREAM_EVENTS'?");
}

BOOST_AUTO_TEST_CASE(bad_value_in_file_names_the_setting) {
  const TempFile file("DOVEWARDEN_METRICS_ADDR=foo\n");
  BOOST_TEST(error_of({"--config", file.path()})
                 .rfind("DOVEWARDEN_METRICS_ADDR: invalid address", 0) == 0);
  BOOST_TEST(error_of({"--config", "/nonexistent/dovewarden"})
                 .rfind("/nonexistent/dovewarden: cannot read", 0) == 0);
}

BOOST_AUTO_TEST_CASE(replication_is_off_until_doveadm_is_named) {
  const auto config = parse({});
  BOOST_TEST(!config.replication.enabled());
  BOOST_TEST(config.replication.store_path == "/var/lib/dovewarden");
  BOOST_TEST((config.replication.store ==
              dovewarden::replication::StoreMode::embedded));
  BOOST_TEST(config.http_addr->to_string() == "127.0.0.1:8080");
  BOOST_TEST(config.admin_addr->to_string() == "127.0.0.1:9961");
}

BOOST_AUTO_TEST_CASE(replication_settings_are_read) {
  const auto config =
      parse({"--num-workers", "8"},
            {{"DOVEWARDEN_DOVEADM_URL", "http://127.0.0.1:8081"},
             {"DOVEWARDEN_DOVEADM_DEST", "tcp:replica:12345"},
             {"DOVEWARDEN_DOVEADM_PASSWORD", "pw"},
             {"DOVEWARDEN_REDIS_MODE", "external"},
             {"DOVEWARDEN_REDIS_ADDR", "redis.local:6380"},
             {"DOVEWARDEN_BACKGROUND_REPLICATION_ENABLED", "false"},
             {"DOVEWARDEN_FULL_SYNC_INTERVAL", "12h"}});
  const auto &r = config.replication;
  BOOST_TEST(r.enabled());
  BOOST_TEST(r.workers == 8u);
  BOOST_TEST((r.store == dovewarden::replication::StoreMode::redis));
  BOOST_TEST(r.redis_addr.to_string() == "redis.local:6380");
  BOOST_TEST(!r.sweep_enabled);
  BOOST_TEST(r.full_sync_interval.count() == 12 * 3600 * 1000);
  // the original dovewarden's value
  BOOST_TEST(
      (parse({}, {{"DOVEWARDEN_REDIS_MODE", "inmemory"}}).replication.store ==
       dovewarden::replication::StoreMode::embedded));
}

BOOST_AUTO_TEST_CASE(bad_replication_settings_name_the_setting) {
  BOOST_TEST(error_of({}, {{"DOVEWARDEN_REDIS_MODE", "cluster"}})
                 .rfind("DOVEWARDEN_REDIS_MODE: ", 0) == 0);
  BOOST_TEST(error_of({}, {{"DOVEWARDEN_DOVEADM_URL", "http://x:1"}})
                 .rfind("DOVEWARDEN_DOVEADM_DEST: ", 0) == 0);
  BOOST_TEST(error_of({}, {{"DOVEWARDEN_DOVEADM_URL", "ftp://x"}})
                 .rfind("DOVEWARDEN_DOVEADM_URL: ", 0) == 0);
  BOOST_TEST(
      error_of({"--num-workers", "0"}).rfind("DOVEWARDEN_NUM_WORKERS: ", 0) ==
      0);
  BOOST_TEST(error_of({}, {{"DOVEWARDEN_REPLICATION_RETRY_MIN", "1m"},
                           {"DOVEWARDEN_REPLICATION_RETRY_MAX", "1s"}})
                 .rfind("DOVEWARDEN_REPLICATION_RETRY_MAX: ", 0) == 0);
  BOOST_TEST(
      error_of({}, {{"DOVEWARDEN_BACKGROUND_REPLICATION_ENABLED", "maybe"}})
          .rfind("DOVEWARDEN_BACKGROUND_REPLICATION_ENABLED: ", 0) == 0);
  BOOST_TEST(
      error_of({}, {{"DOVEWARDEN_REPLICATION_LOW_EVENTS", "flags.set:STORE"}})
          .rfind("DOVEWARDEN_REPLICATION_LOW_EVENTS: ", 0) == 0);
  BOOST_TEST(error_of({}, {{"DOVEWARDEN_REDIS_ADDR", ":6379"}})
                 .rfind("DOVEWARDEN_REDIS_ADDR: ", 0) == 0);
  // a zero wait would loop without pause
  for (const char *env :
       {"DOVEWARDEN_BACKGROUND_REPLICATION_INTERVAL",
        "DOVEWARDEN_REPLICATION_RETRY_MIN", "DOVEWARDEN_DOVEADM_TIMEOUT"})
    BOOST_TEST(error_of({}, {{env, "0s"}}).rfind(std::string(env) + ": ", 0) ==
               0);
  const Env doveadm{{"DOVEWARDEN_DOVEADM_URL", "http://x:1"},
                    {"DOVEWARDEN_DOVEADM_DEST", "tcp:y:2"}};
  BOOST_TEST(error_of({}, doveadm).rfind("DOVEWARDEN_DOVEADM_PASSWORD: ", 0) ==
             0);
  auto both = doveadm;
  both["DOVEWARDEN_DOVEADM_PASSWORD"] = "a";
  both["DOVEWARDEN_DOVEADM_API_KEY"] = "b";
  BOOST_TEST(error_of({}, both).rfind("DOVEWARDEN_DOVEADM_PASSWORD: ", 0) == 0);
}

BOOST_AUTO_TEST_CASE(redis_sentinel_settings_are_read) {
  const auto defaults = parse({}).replication;
  BOOST_TEST(defaults.redis_sentinels.empty());
  BOOST_TEST(defaults.redis_sentinel_master == "mymaster");
  const auto r =
      parse({"--redis-sentinels", "10.0.0.1:26379, [::1]:26380"},
            {{"DOVEWARDEN_REDIS_MODE", "external"},
             {"DOVEWARDEN_REDIS_SENTINEL_MASTER", "queue"},
             {"DOVEWARDEN_REDIS_SENTINEL_PASSWORD", "sentinel-secret"}})
          .replication;
  BOOST_REQUIRE(r.redis_sentinels.size() == 2u);
  BOOST_TEST(r.redis_sentinels[0].to_string() == "10.0.0.1:26379");
  BOOST_TEST(r.redis_sentinels[1].to_string() == "[::1]:26380");
  BOOST_TEST(r.redis_sentinel_master == "queue");
  BOOST_TEST(r.redis_sentinel_password == "sentinel-secret");
}

BOOST_AUTO_TEST_CASE(bad_redis_sentinel_settings_name_the_setting) {
  const Env external{{"DOVEWARDEN_REDIS_MODE", "external"}};
  for (const char *sentinels : {"10.0.0.1", ":26379", "10.0.0.1:26379,x:0"}) {
    auto env = external;
    env["DOVEWARDEN_REDIS_SENTINELS"] = sentinels;
    BOOST_TEST(error_of({}, env).rfind("DOVEWARDEN_REDIS_SENTINELS: ", 0) == 0);
  }
  // sentinels for the embedded store are a mistake, not a no-op
  BOOST_TEST(error_of({}, {{"DOVEWARDEN_REDIS_SENTINELS", "10.0.0.1:26379"}})
                 .rfind("DOVEWARDEN_REDIS_SENTINELS: ", 0) == 0);
  auto nameless = external;
  nameless["DOVEWARDEN_REDIS_SENTINELS"] = "10.0.0.1:26379";
  nameless["DOVEWARDEN_REDIS_SENTINEL_MASTER"] = "";
  BOOST_TEST(
      error_of({}, nameless).rfind("DOVEWARDEN_REDIS_SENTINEL_MASTER: ", 0) ==
      0);
}

BOOST_AUTO_TEST_CASE(userdb_settings_are_read) {
  const auto defaults = parse({}).replication;
  BOOST_TEST(!defaults.doveadm_dest_from_userdb);
  BOOST_TEST(defaults.userdb_cache_ttl.count() == 60 * 1000);
  BOOST_TEST(defaults.userdb_cache_size == 100000u);
  const auto r = parse({"--doveadm-dest-from-userdb", "true"},
                       {{"DOVEWARDEN_USERDB_CACHE_TTL", "0s"},
                        {"DOVEWARDEN_USERDB_CACHE_SIZE", "500"}})
                     .replication;
  BOOST_TEST(r.doveadm_dest_from_userdb);
  BOOST_TEST(r.userdb_cache_ttl.count() == 0);
  BOOST_TEST(r.userdb_cache_size == 500u);
}

BOOST_AUTO_TEST_CASE(bad_userdb_settings_name_the_setting) {
  const std::pair<const char *, const char *> bad[] = {
      {"DOVEWARDEN_DOVEADM_DEST_FROM_USERDB", "sometimes"},
      {"DOVEWARDEN_USERDB_CACHE_TTL", "1 minute"},
      {"DOVEWARDEN_USERDB_CACHE_SIZE", "0"},
      {"DOVEWARDEN_USERDB_CACHE_SIZE", "many"},
  };
  for (const auto &[env, value] : bad) {
    BOOST_TEST_CONTEXT(env << "=" << value) {
      const auto line = error_of({}, {{env, value}});
      BOOST_TEST(line.rfind(std::string(env) + ": ", 0) == 0u);
      BOOST_TEST(line.find('\n') == std::string::npos);
    }
  }
}

BOOST_AUTO_TEST_CASE(doveadms_own_protocol_needs_no_api_key) {
  // a mode 0600 unix socket needs no password at all
  const Env socket{
      {"DOVEWARDEN_DOVEADM_URL", "unix:/run/dovecot/doveadm-server"},
      {"DOVEWARDEN_DOVEADM_DEST", "tcp:y:2"}};
  BOOST_TEST(parse({}, socket).replication.enabled());
  auto key = socket;
  key["DOVEWARDEN_DOVEADM_API_KEY"] = "b";
  BOOST_TEST(error_of({}, key).rfind("DOVEWARDEN_DOVEADM_API_KEY: ", 0) == 0);
  // a tcp listener always asks for the password
  const Env tcp{{"DOVEWARDEN_DOVEADM_URL", "tcp:127.0.0.1:12345"},
                {"DOVEWARDEN_DOVEADM_DEST", "tcp:y:2"}};
  BOOST_TEST(error_of({}, tcp).rfind("DOVEWARDEN_DOVEADM_PASSWORD: ", 0) == 0);
  auto with_password = tcp;
  with_password["DOVEWARDEN_DOVEADM_PASSWORD"] = "a";
  BOOST_TEST(parse({}, with_password).replication.doveadm_url ==
             "tcp:127.0.0.1:12345");
}

BOOST_AUTO_TEST_CASE(webhook_settings_are_read) {
  const auto defaults = parse({}).webhooks;
  BOOST_TEST(defaults.enabled);
  BOOST_TEST(defaults.retry_schedule.size() == 8u);
  BOOST_TEST(defaults.retry_schedule.front().count() == 0);
  BOOST_TEST(defaults.retry_schedule.back().count() == 10 * 3600 * 1000);
  BOOST_TEST(defaults.disable_after.count() == 5LL * 24 * 3600 * 1000);
  const auto config =
      parse({"--webhook-max-in-flight", "8"},
            {{"DOVEWARDEN_WEBHOOK_RETRY_SCHEDULE", "0s, 100ms,1s"},
             {"DOVEWARDEN_WEBHOOK_ALLOW_NETS", "127.0.0.1/32"},
             {"DOVEWARDEN_WEBHOOK_DISABLE_AFTER", "0s"},
             {"DOVEWARDEN_WEBHOOKS_ENABLED", "false"}});
  const auto &w = config.webhooks;
  BOOST_TEST(!w.enabled);
  BOOST_TEST(w.max_in_flight == 8u);
  BOOST_TEST(w.address_policy.to_string() == "127.0.0.1/32");
  BOOST_TEST(w.disable_after.count() == 0);
  BOOST_REQUIRE(w.retry_schedule.size() == 3u);
  BOOST_TEST(w.retry_schedule[1].count() == 100);
}

BOOST_AUTO_TEST_CASE(bad_webhook_settings_name_the_setting) {
  BOOST_TEST(
      error_of({}, {{"DOVEWARDEN_WEBHOOK_RETRY_SCHEDULE", "0s,5x"}})
          .rfind("DOVEWARDEN_WEBHOOK_RETRY_SCHEDULE: item 2 \"5x\"", 0) == 0);
  BOOST_TEST(error_of({}, {{"DOVEWARDEN_WEBHOOK_RETRY_SCHEDULE", ","}})
                 .rfind("DOVEWARDEN_WEBHOOK_RETRY_SCHEDULE: ", 0) == 0);
  BOOST_TEST(error_of({}, {{"DOVEWARDEN_WEBHOOK_ALLOW_NETS", "10.0.0.0/33"}})
                 .rfind("DOVEWARDEN_WEBHOOK_ALLOW_NETS: ", 0) == 0);
  BOOST_TEST(error_of({}, {{"DOVEWARDEN_WEBHOOK_MAX_PAYLOAD", "10"}})
                 .rfind("DOVEWARDEN_WEBHOOK_MAX_PAYLOAD: ", 0) == 0);
  BOOST_TEST(error_of({}, {{"DOVEWARDEN_WEBHOOK_RETENTION", "0s"}})
                 .rfind("DOVEWARDEN_WEBHOOK_RETENTION: ", 0) == 0);
}

BOOST_AUTO_TEST_CASE(audit_settings_are_read) {
  const auto defaults = parse({}).audit;
  BOOST_TEST(defaults.enabled);
  BOOST_TEST(defaults.dsn.empty());
  BOOST_TEST(defaults.origin_for("mx1") == "mx1/dovewarden/audit");
  BOOST_TEST(defaults.selection().find("message.open") == std::string::npos);
  BOOST_TEST(defaults.batch_max == 1000u);
  BOOST_TEST(defaults.batch_interval.count() == 200);
  BOOST_TEST(defaults.checkpoint_records == 10000u);
  BOOST_TEST(defaults.checkpoint_interval.count() == 60000);
  BOOST_TEST(defaults.queue == 100000u);
  BOOST_TEST(defaults.retention_days == 90u);
  const auto config =
      parse({"--audit-batch-max", "50"},
            {{"DOVEWARDEN_AUDIT", "off"},
             {"DOVEWARDEN_AUDIT_DSN", "host=db password=secret"},
             {"DOVEWARDEN_AUDIT_ORIGIN", "mail.example.com/audit"},
             {"DOVEWARDEN_AUDIT_KEY_FILE", "/etc/dovewarden/audit.key"},
             {"DOVEWARDEN_AUDIT_EVENTS", "message.expunge"},
             {"DOVEWARDEN_AUDIT_READS", "yes"},
             {"DOVEWARDEN_AUDIT_BATCH_INTERVAL", "1s"},
             {"DOVEWARDEN_AUDIT_CHECKPOINT_RECORDS", "7"},
             {"DOVEWARDEN_AUDIT_CHECKPOINT_INTERVAL", "5s"},
             {"DOVEWARDEN_AUDIT_QUEUE", "10"},
             {"DOVEWARDEN_AUDIT_RETENTION_DAYS", "0"}});
  const auto &a = config.audit;
  BOOST_TEST(!a.enabled);
  BOOST_TEST(a.dsn_text().find("secret") == std::string::npos);
  BOOST_TEST(a.dsn_text().find("password=***") != std::string::npos);
  BOOST_TEST(a.origin_for("mx1") == "mail.example.com/audit");
  BOOST_TEST(a.key_file == "/etc/dovewarden/audit.key");
  BOOST_TEST(a.selection() == "message.expunge,message.open");
  BOOST_TEST(a.batch_max == 50u);
  BOOST_TEST(a.batch_interval.count() == 1000);
  BOOST_TEST(a.checkpoint_records == 7u);
  BOOST_TEST(a.checkpoint_interval.count() == 5000);
  BOOST_TEST(a.queue == 10u);
  BOOST_TEST(a.retention_days == 0u);
}

BOOST_AUTO_TEST_CASE(bad_audit_settings_name_the_setting) {
  for (const auto &[setting, value] :
       std::vector<std::pair<const char *, const char *>>{
           {"DOVEWARDEN_AUDIT", "maybe"},
           {"DOVEWARDEN_AUDIT_ORIGIN", "two words"},
           {"DOVEWARDEN_AUDIT_ORIGIN", "a+b"},
           {"DOVEWARDEN_AUDIT_EVENTS", "message.* flags.*"},
           {"DOVEWARDEN_AUDIT_READS", "sometimes"},
           {"DOVEWARDEN_AUDIT_BATCH_MAX", "0"},
           {"DOVEWARDEN_AUDIT_BATCH_INTERVAL", "0s"},
           {"DOVEWARDEN_AUDIT_CHECKPOINT_RECORDS", "0"},
           {"DOVEWARDEN_AUDIT_CHECKPOINT_INTERVAL", "soon"},
           {"DOVEWARDEN_AUDIT_QUEUE", "0"},
           {"DOVEWARDEN_AUDIT_RETENTION_DAYS", "-1"}}) {
    const auto error = error_of({}, {{setting, value}});
    BOOST_TEST_CONTEXT(setting << "=" << value) {
      BOOST_TEST(error.rfind(std::string(setting) + ": ", 0) == 0);
      BOOST_TEST(error.find('\n') == std::string::npos);
    }
  }
}

BOOST_AUTO_TEST_CASE(listener_and_events_settings_are_read) {
  const auto defaults = parse({});
  BOOST_TEST(defaults.http_max_body == 10u * 1024 * 1024);
  BOOST_TEST(defaults.http_token_file.empty());
  BOOST_TEST(defaults.http_allow_from.empty());
  BOOST_TEST(defaults.listener_limits.head_timeout.count() == 10000);
  BOOST_TEST(defaults.listener_limits.max_connections == 512u);
  const auto config =
      parse({"--listener-max-connections", "64"},
            {{"DOVEWARDEN_LISTENER_HEAD_TIMEOUT", "2s"},
             {"DOVEWARDEN_LISTENER_BODY_TIMEOUT", "5s"},
             {"DOVEWARDEN_LISTENER_IDLE_TIMEOUT", "1s"},
             {"DOVEWARDEN_LISTENER_MAX_REQUESTS", "10"},
             {"DOVEWARDEN_HTTP_MAX_BODY", "65536"},
             {"DOVEWARDEN_HTTP_TOKEN_FILE", "/etc/dovewarden/events.token"},
             {"DOVEWARDEN_HTTP_ALLOW_FROM", "127.0.0.1/32,::1"}});
  const auto &limits = config.listener_limits;
  BOOST_TEST(limits.max_connections == 64u);
  BOOST_TEST(limits.head_timeout.count() == 2000);
  BOOST_TEST(limits.body_timeout.count() == 5000);
  BOOST_TEST(limits.idle_timeout.count() == 1000);
  BOOST_TEST(limits.max_requests == 10u);
  BOOST_TEST(config.http_max_body == 65536u);
  BOOST_TEST(config.http_token_file == "/etc/dovewarden/events.token");
  BOOST_TEST(config.http_allow_from.to_string() == "127.0.0.1/32,::1/128");
}

BOOST_AUTO_TEST_CASE(bad_listener_settings_name_the_setting) {
  for (const auto &[setting, value] :
       std::vector<std::pair<std::string, std::string>>{
           {"DOVEWARDEN_HTTP_ALLOW_FROM", "10.0.0.1/8"},
           {"DOVEWARDEN_HTTP_MAX_BODY", "10"},
           {"DOVEWARDEN_LISTENER_HEAD_TIMEOUT", "0s"},
           {"DOVEWARDEN_LISTENER_MAX_CONNECTIONS", "0"}}) {
    BOOST_TEST_CONTEXT(setting) {
      BOOST_TEST(error_of({}, {{setting, value}}).rfind(setting + ": ", 0) ==
                 0u);
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()
