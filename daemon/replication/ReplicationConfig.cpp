#include "replication/ReplicationConfig.hpp"

#include "util/ConfigError.hpp"
#include "util/Strings.hpp"

namespace dovewarden::replication {

namespace {

using util::ConfigError;
using util::SettingValues;

bool starts_with(const std::string &text, const char *prefix) {
  return text.rfind(prefix, 0) == 0;
}

// Returns whether url names doveadm's own protocol (unix: or tcp:) rather
// than its HTTP API.
bool is_doveadm_protocol(const std::string &url) {
  if (url.empty() || starts_with(url, "http://") ||
      starts_with(url, "https://"))
    return false;
  if (starts_with(url, "unix:") || starts_with(url, "tcp:"))
    return true;
  throw ConfigError("DOVEWARDEN_DOVEADM_URL",
                    SettingValues::invalid("URL", url,
                                           "expected http://HOST:PORT, "
                                           "unix:PATH or tcp:HOST:PORT"));
}

// doveadm's own protocol takes a password only; its HTTP API takes a
// password or an API key.
void check_credentials(const ReplicationConfig &r, bool doveadm_protocol) {
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
}

StoreMode store_mode(const SettingValues &values) {
  const auto &text = values.text("DOVEWARDEN_REDIS_MODE");
  if (text == "embedded" || text == "inmemory")
    return StoreMode::embedded;
  if (text == "external")
    return StoreMode::redis;
  throw ConfigError(
      "DOVEWARDEN_REDIS_MODE",
      SettingValues::invalid("mode", text, "expected embedded or external"));
}

Trigger trigger(const SettingValues &values) {
  const auto parsed =
      Trigger::parse(values.text("DOVEWARDEN_REPLICATION_HIGH_EVENTS"),
                     values.text("DOVEWARDEN_REPLICATION_LOW_EVENTS"));
  if (!parsed)
    throw ConfigError(parsed.error().setting, parsed.error().message);
  return *parsed;
}

void read_doveadm(const SettingValues &values, ReplicationConfig &r) {
  r.doveadm_url = values.text("DOVEWARDEN_DOVEADM_URL");
  const bool doveadm_protocol = is_doveadm_protocol(r.doveadm_url);
  r.doveadm_password = values.text("DOVEWARDEN_DOVEADM_PASSWORD");
  r.doveadm_api_key = values.text("DOVEWARDEN_DOVEADM_API_KEY");
  r.doveadm_dest = values.text("DOVEWARDEN_DOVEADM_DEST");
  if (!r.doveadm_url.empty() && r.doveadm_dest.empty())
    throw ConfigError("DOVEWARDEN_DOVEADM_DEST",
                      "must be set when DOVEWARDEN_DOVEADM_URL is");
  r.doveadm_dest_from_userdb =
      values.boolean("DOVEWARDEN_DOVEADM_DEST_FROM_USERDB");
  check_credentials(r, doveadm_protocol);
  r.doveadm_timeout = values.positive_duration("DOVEWARDEN_DOVEADM_TIMEOUT");
  r.userdb_cache_ttl = values.duration("DOVEWARDEN_USERDB_CACHE_TTL");
  r.userdb_cache_size = static_cast<std::size_t>(
      values.number("DOVEWARDEN_USERDB_CACHE_SIZE", 1, 100000000));
}

std::vector<util::ListenAddress> sentinels(const SettingValues &values) {
  constexpr const char *setting = "DOVEWARDEN_REDIS_SENTINELS";
  std::vector<util::ListenAddress> addresses;
  for (const auto piece : util::split(values.text(setting), ',')) {
    const auto parsed = util::ListenAddress::parse(piece);
    if (!parsed || parsed->host.empty())
      throw ConfigError(
          setting, SettingValues::invalid("address", std::string(piece),
                                          "expected HOST:PORT,HOST:PORT,..."));
    addresses.push_back(*parsed);
  }
  return addresses;
}

void read_store(const SettingValues &values, ReplicationConfig &r) {
  r.store = store_mode(values);
  r.store_path = values.text("DOVEWARDEN_STORE_PATH");
  r.redis_addr = values.address("DOVEWARDEN_REDIS_ADDR");
  r.redis_password = values.text("DOVEWARDEN_REDIS_PASSWORD");
  r.redis_namespace = values.text("DOVEWARDEN_NAMESPACE");
  r.redis_sentinels = sentinels(values);
  if (!r.redis_sentinels.empty() && r.store != StoreMode::redis)
    throw ConfigError("DOVEWARDEN_REDIS_SENTINELS",
                      "needs DOVEWARDEN_REDIS_MODE=external");
  r.redis_sentinel_master = values.text("DOVEWARDEN_REDIS_SENTINEL_MASTER");
  if (!r.redis_sentinels.empty() && r.redis_sentinel_master.empty())
    throw ConfigError("DOVEWARDEN_REDIS_SENTINEL_MASTER",
                      "must be set when DOVEWARDEN_REDIS_SENTINELS is");
  r.redis_sentinel_password = values.text("DOVEWARDEN_REDIS_SENTINEL_PASSWORD");
}

void read_scheduling(const SettingValues &values, ReplicationConfig &r) {
  r.workers =
      static_cast<unsigned>(values.number("DOVEWARDEN_NUM_WORKERS", 1, 1000));
  r.full_sync_interval =
      values.positive_duration("DOVEWARDEN_FULL_SYNC_INTERVAL");
  r.retry_min = values.positive_duration("DOVEWARDEN_REPLICATION_RETRY_MIN");
  r.retry_max = values.positive_duration("DOVEWARDEN_REPLICATION_RETRY_MAX");
  if (r.retry_max < r.retry_min)
    throw ConfigError(
        "DOVEWARDEN_REPLICATION_RETRY_MAX",
        "must not be shorter than DOVEWARDEN_REPLICATION_RETRY_MIN");
  r.trigger = trigger(values);
  r.sweep_enabled = values.boolean("DOVEWARDEN_BACKGROUND_REPLICATION_ENABLED");
  r.sweep_interval =
      values.positive_duration("DOVEWARDEN_BACKGROUND_REPLICATION_INTERVAL");
  r.sweep_threshold =
      values.duration("DOVEWARDEN_BACKGROUND_REPLICATION_THRESHOLD");
}

} // namespace

const std::vector<util::Setting> &ReplicationConfig::settings() {
  static const std::vector<util::Setting> settings{
      {"DOVEWARDEN_DOVEADM_URL", "--doveadm-url", "URL", "",
       "doveadm on this server: its HTTP API (http://127.0.0.1:8081) or its "
       "server socket (unix:/run/dovecot/doveadm-server, tcp:HOST:PORT); "
       "empty: no replication",
       "this server's doveadm: its HTTP API, `http://HOST:PORT` (or "
       "`https://`), e.g. `http://127.0.0.1:8081`, no credentials in it; or "
       "its own protocol, `unix:/run/dovecot/doveadm-server` or "
       "`tcp:HOST:PORT` (`docs/replication.md`); empty: off"},
      {"DOVEWARDEN_DOVEADM_PASSWORD", "--doveadm-password", "SECRET", "",
       "doveadm_password (HTTP API, tcp:, a unix: socket not of mode 0600)",
       "Dovecot's `doveadm_password` (Basic auth as `doveadm`; required for "
       "`tcp:`, not needed on a mode 0600 `unix:` socket)"},
      {"DOVEWARDEN_DOVEADM_API_KEY", "--doveadm-api-key", "SECRET", "",
       "doveadm_api_key, instead of the password",
       "Dovecot's `doveadm_api_key`, instead of the password, HTTP API only; "
       "there exactly one of the two"},
      {"DOVEWARDEN_DOVEADM_DEST", "--doveadm-dest", "DEST", "",
       "where dsync replicates to, e.g. tcp:replica.example.com:12345",
       "dsync's destination, e.g. `tcp:replica.example.com:12345`; required "
       "with `DOVEWARDEN_DOVEADM_URL`"},
      {"DOVEWARDEN_DOVEADM_DEST_FROM_USERDB", "--doveadm-dest-from-userdb",
       "BOOL", "false",
       "replicate each user to its userdb field mail_replica, as 2.3's sync -d "
       "did; DOVEWARDEN_DOVEADM_DEST for users without one",
       "replicate each user to its userdb field `mail_replica`, as Dovecot "
       "2.3's `sync -d` did; users without one go to "
       "`DOVEWARDEN_DOVEADM_DEST`"},
      {"DOVEWARDEN_DOVEADM_TIMEOUT", "--doveadm-timeout", "DURATION", "30m",
       "the longest one doveadm request may take",
       "the longest one doveadm request (one sync) may take"},
      {"DOVEWARDEN_USERDB_CACHE_TTL", "--userdb-cache-ttl", "DURATION", "1m",
       "how long a user's userdb fields (noreplicate, mail_replica) are kept "
       "before doveadm user is asked again; 0s: every sync asks",
       "how long a user's userdb fields (`noreplicate`, `mail_replica`), read "
       "with `doveadm user` before a sync, are kept; `0s`: read before every "
       "sync"},
      {"DOVEWARDEN_USERDB_CACHE_SIZE", "--userdb-cache-size", "COUNT", "100000",
       "users whose userdb fields are kept at most",
       "users whose userdb fields are kept at most (the oldest go first)"},
      {"DOVEWARDEN_REDIS_MODE", "--redis-mode", "MODE", "embedded",
       "replication store: embedded (SQLite; inmemory is the same) or external "
       "(Redis)",
       "the store: `embedded` (SQLite; `inmemory` is the same) or `external` "
       "(Redis)"},
      {"DOVEWARDEN_STORE_PATH", "--store-path", "DIR", "/var/lib/dovewarden",
       "directory of the embedded store and the generated admin token",
       "directory of the embedded stores `replication.db` and `webhooks.db` "
       "and of the generated admin token; made mode 0700 at start, its files "
       "0600"},
      {"DOVEWARDEN_REDIS_ADDR", "--redis-addr", "HOST:PORT", "127.0.0.1:6379",
       "Redis server of the external store",
       "the Redis server of the external store, `HOST:PORT`"},
      {"DOVEWARDEN_REDIS_PASSWORD", "--redis-password", "SECRET", "",
       "Redis AUTH password",
       "Redis `AUTH` password (of the master and its replicas with Sentinel)"},
      {"DOVEWARDEN_REDIS_SENTINELS", "--redis-sentinels", "HOST:PORT,...", "",
       "Redis Sentinels to ask for the master of the external store, which "
       "then follows failovers; empty: DOVEWARDEN_REDIS_ADDR",
       "Redis Sentinels to ask for the master, `HOST:PORT,HOST:PORT,...`; the "
       "store then follows failovers and `DOVEWARDEN_REDIS_ADDR` is not used "
       "(needs `DOVEWARDEN_REDIS_MODE=external`; see `docs/replication.md`)"},
      {"DOVEWARDEN_REDIS_SENTINEL_MASTER", "--redis-sentinel-master", "NAME",
       "mymaster", "the master's name in the sentinels' configuration",
       "the master's name in the sentinels' `sentinel monitor` line"},
      {"DOVEWARDEN_REDIS_SENTINEL_PASSWORD", "--redis-sentinel-password",
       "SECRET", "", "the sentinels' own AUTH password, if they have one",
       "the sentinels' own `requirepass`, if they have one; keep it in the "
       "environment or the configuration file rather than on the command line. "
       "Never logged"},
      {"DOVEWARDEN_NAMESPACE", "--namespace", "NAME", "dovewarden",
       "prefix of every Redis key; daemons sharing a queue use the same",
       "prefix of every Redis key (webhooks' under `NAMESPACE:wh:`); daemons "
       "sharing one queue use the same"},
      {"DOVEWARDEN_NUM_WORKERS", "--num-workers", "COUNT", "4",
       "syncs run at once", "syncs run at once (1 to 1000)"},
      {"DOVEWARDEN_FULL_SYNC_INTERVAL", "--full-sync-interval", "DURATION",
       "24h", "a user's sync is a full one if its last was longer ago",
       "a user's sync is a full one if its last full sync is older"},
      {"DOVEWARDEN_REPLICATION_RETRY_MIN", "--replication-retry-min",
       "DURATION", "10s", "wait after a user's first failed sync",
       "wait after a user's first failed sync"},
      {"DOVEWARDEN_REPLICATION_RETRY_MAX", "--replication-retry-max",
       "DURATION", "10m", "longest wait between failed syncs (doubling, +-20%)",
       "longest wait between failed syncs (doubling, ±20 %); not shorter than "
       "the minimum"},
      {"DOVEWARDEN_REPLICATION_HIGH_EVENTS", "--replication-high-events",
       "TRIGGERS", Trigger::k_default_high,
       "events that queue their user at high priority; see "
       "docs/replication.md",
       "comma-separated triggers that queue their user at `high`: type globs, "
       "or `imap_command_finished:COMMAND`"},
      {"DOVEWARDEN_REPLICATION_LOW_EVENTS", "--replication-low-events",
       "TRIGGERS", Trigger::k_default_low,
       "events that queue their user at low priority",
       "triggers that queue their user at `low`"},
      {"DOVEWARDEN_BACKGROUND_REPLICATION_ENABLED",
       "--background-replication-enabled", "BOOL", "true",
       "sweep all users (doveadm user '*') at start and every interval",
       "sweep all users (`doveadm user '*'`) at start and every interval; "
       "`true`/`yes`/`1` or `false`/`no`/`0`"},
      {"DOVEWARDEN_BACKGROUND_REPLICATION_INTERVAL",
       "--background-replication-interval", "DURATION", "1h",
       "how often the sweep runs", "how often the sweep runs"},
      {"DOVEWARDEN_BACKGROUND_REPLICATION_THRESHOLD",
       "--background-replication-threshold", "DURATION", "24h",
       "the sweep queues users not synced within this",
       "the sweep queues users not synced within this"},
  };
  return settings;
}

ReplicationConfig ReplicationConfig::from(const util::SettingValues &values) {
  ReplicationConfig r;
  read_doveadm(values, r);
  read_store(values, r);
  read_scheduling(values, r);
  return r;
}

} // namespace dovewarden::replication
