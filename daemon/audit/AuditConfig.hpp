#pragma once

#include "util/SettingValues.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace dovewarden::audit {

// What the audit log needs (docs/audit.md).
struct AuditConfig {
  static constexpr const char *k_default_events =
      "message.*,flags.*,mailbox.*,user.login,user.logout,replication.failed,"
      "webhook.endpoint_*,admin.*,events.lost";

  bool enabled = true;
  std::string dsn;      // "": SQLite, audit.sqlite in the store directory
  std::string origin;   // "": "<host name>/dovewarden/audit"
  std::string key_file; // "": audit.key in the store directory
  std::string events = k_default_events; // type globs
  bool reads = false;                    // adds message.open
  std::size_t batch_max = 1000;
  std::chrono::milliseconds batch_interval{200};
  std::uint64_t checkpoint_records = 10000;
  std::chrono::milliseconds checkpoint_interval{60000};
  std::size_t queue = 100000;
  unsigned retention_days = 90; // 0: keep for ever

  // Returns the type globs of the records: events, and message.open if
  // reads are recorded.
  std::string selection() const;
  // Returns the chain's name: origin, or the default for host.
  std::string origin_for(const std::string &host) const;
  // Returns the DSN with its password replaced by ***, for log lines.
  std::string dsn_text() const;

  // The DOVEWARDEN_AUDIT* settings, in the order --help lists them.
  static const std::vector<util::Setting> &settings();
  // Reads them; throws util::ConfigError naming a setting with a bad value.
  static AuditConfig from(const util::SettingValues &values);
};

} // namespace dovewarden::audit
