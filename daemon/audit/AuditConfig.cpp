#include "audit/AuditConfig.hpp"

#include "db/PostgresConnection.hpp"
#include "filter/TypeFilter.hpp"
#include "util/ConfigError.hpp"

#include <cctype>

namespace dovewarden::audit {

namespace {

using util::ConfigError;
using util::SettingValues;

// the chain's name is the first line of each checkpoint and, as C2SP asks
// of an origin, holds no white space and no '+'
void check_origin(const std::string &origin) {
  for (const char c : origin) {
    if (std::isspace(static_cast<unsigned char>(c)) || c == '+' ||
        std::iscntrl(static_cast<unsigned char>(c)))
      throw ConfigError(
          "DOVEWARDEN_AUDIT_ORIGIN",
          SettingValues::invalid("origin", origin,
                                 "white space and '+' are not allowed"));
  }
}

bool on_off(const SettingValues &values, const char *env) {
  const auto &text = values.text(env);
  if (text == "on")
    return true;
  if (text == "off")
    return false;
  return values.boolean(env);
}

} // namespace

std::string AuditConfig::selection() const {
  return reads ? events + ",message.open" : events;
}

std::string AuditConfig::origin_for(const std::string &host) const {
  return origin.empty() ? host + "/dovewarden/audit" : origin;
}

std::string AuditConfig::dsn_text() const {
  return db::PostgresConnection::redacted(dsn);
}

const std::vector<util::Setting> &AuditConfig::settings() {
  static const std::vector<util::Setting> settings{
      {"DOVEWARDEN_AUDIT", "--audit", "on|off", "on",
       "keep the audit log of who did what to which mailbox",
       "`on` or `off` (also `true`/`false`, `yes`/`no`)"},
      {"DOVEWARDEN_AUDIT_DSN", "--audit-dsn", "DSN", "",
       "PostgreSQL connection string of the audit log; empty: SQLite "
       "STORE_PATH/audit.sqlite",
       "a libpq connection string (`host=db dbname=audit user=dw password=…` "
       "or `postgresql://…`): the records go to PostgreSQL, where several "
       "daemons may share one database, each with its own chain; empty: "
       "SQLite, `$DOVEWARDEN_STORE_PATH/audit.sqlite`. Logs show it with the "
       "password as `***`"},
      {"DOVEWARDEN_AUDIT_ORIGIN", "--audit-origin", "NAME", "",
       "the audit chain's name in its checkpoints; empty: "
       "HOST/dovewarden/audit",
       "the chain's name, the first line of each checkpoint; no white space, "
       "no `+`; empty: `HOST/dovewarden/audit`"},
      {"DOVEWARDEN_AUDIT_KEY_FILE", "--audit-key-file", "PATH", "",
       "Ed25519 key signing the checkpoints (public key in PATH.pub); empty: "
       "STORE_PATH/audit.key, made if absent",
       "the Ed25519 private key (PEM) that signs the checkpoints, readable by "
       "the daemon alone; made (0600) if absent, with its public verifier key "
       "beside it in `PATH.pub`; empty: `$DOVEWARDEN_STORE_PATH/audit.key`"},
      {"DOVEWARDEN_AUDIT_EVENTS", "--audit-events", "GLOBS", k_default_events,
       "comma-separated event-type globs the audit log records",
       "comma-separated globs of the event types recorded"},
      {"DOVEWARDEN_AUDIT_READS", "--audit-reads", "BOOL", "no",
       "also record each message a client opens (message.open)",
       "also record each message a client opened (`message.open`); off for "
       "volume"},
      {"DOVEWARDEN_AUDIT_BATCH_MAX", "--audit-batch-max", "COUNT", "1000",
       "write the audit records once this many are waiting",
       "records written in one transaction at most; a batch is written once "
       "this many wait (1 to 100000)"},
      {"DOVEWARDEN_AUDIT_BATCH_INTERVAL", "--audit-batch-interval", "DURATION",
       "200ms", "write the audit records at least this often",
       "…or this long after the last write, or as soon as no event waits; more "
       "than `0s`"},
      {"DOVEWARDEN_AUDIT_CHECKPOINT_RECORDS", "--audit-checkpoint-records",
       "COUNT", "10000", "sign a checkpoint after this many records",
       "sign a checkpoint after this many records"},
      {"DOVEWARDEN_AUDIT_CHECKPOINT_INTERVAL", "--audit-checkpoint-interval",
       "DURATION", "60s",
       "sign a checkpoint at least this often while records come",
       "…or this long after the last one, if records came since"},
      {"DOVEWARDEN_AUDIT_QUEUE", "--audit-queue", "COUNT", "100000",
       "events waiting for the audit log; beyond, dropped and recorded as a "
       "gap",
       "events waiting for the audit log on its own bus queue, and records "
       "waiting while its store fails; beyond, the oldest are dropped "
       "(`dovewarden_bus_dropped_total{subscriber=\"audit\"}`) and recorded as "
       "a gap (`events.lost`)"},
      {"DOVEWARDEN_AUDIT_RETENTION_DAYS", "--audit-retention-days", "DAYS",
       "90", "remove audit records older than this; 0: keep them for ever",
       "records older are removed once an hour (and at start), behind a signed "
       "checkpoint that keeps `verify` passing; `0`: kept for ever"},
  };
  return settings;
}

AuditConfig AuditConfig::from(const util::SettingValues &values) {
  AuditConfig a;
  a.enabled = on_off(values, "DOVEWARDEN_AUDIT");
  a.dsn = values.text("DOVEWARDEN_AUDIT_DSN");
  a.origin = values.text("DOVEWARDEN_AUDIT_ORIGIN");
  check_origin(a.origin);
  a.key_file = values.text("DOVEWARDEN_AUDIT_KEY_FILE");
  a.events = values.text("DOVEWARDEN_AUDIT_EVENTS");
  const auto filter = filter::TypeFilter::parse(a.events);
  if (!filter)
    throw ConfigError(
        "DOVEWARDEN_AUDIT_EVENTS",
        SettingValues::invalid("globs", a.events, filter.error()));
  a.reads = values.boolean("DOVEWARDEN_AUDIT_READS");
  a.batch_max = static_cast<std::size_t>(
      values.number("DOVEWARDEN_AUDIT_BATCH_MAX", 1, 100000));
  a.batch_interval =
      values.positive_duration("DOVEWARDEN_AUDIT_BATCH_INTERVAL");
  a.checkpoint_records =
      values.number("DOVEWARDEN_AUDIT_CHECKPOINT_RECORDS", 1, 1u << 30);
  a.checkpoint_interval =
      values.positive_duration("DOVEWARDEN_AUDIT_CHECKPOINT_INTERVAL");
  a.queue = static_cast<std::size_t>(
      values.number("DOVEWARDEN_AUDIT_QUEUE", 1, 100000000));
  a.retention_days = static_cast<unsigned>(
      values.number("DOVEWARDEN_AUDIT_RETENTION_DAYS", 0, 100000));
  return a;
}

} // namespace dovewarden::audit
