#pragma once

#include "replication/Trigger.hpp"
#include "util/ListenAddress.hpp"
#include "util/Logger.hpp"

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <functional>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

namespace dovewarden::config {

enum class StoreMode { embedded, redis };

// What replication needs; it is off while doveadm_url is empty.
struct ReplicationConfig {
  std::string doveadm_url;
  std::string doveadm_password;
  std::string doveadm_api_key;
  std::string doveadm_dest;
  bool doveadm_dest_from_userdb = false; // mail_replica first, as `sync -d`
  std::chrono::milliseconds doveadm_timeout{30 * 60 * 1000};
  std::chrono::milliseconds userdb_cache_ttl{60 * 1000};
  std::size_t userdb_cache_size = 100000;
  StoreMode store = StoreMode::embedded;
  std::string store_path = "/var/lib/dovewarden";
  util::ListenAddress redis_addr{"127.0.0.1", 6379};
  std::string redis_password;
  std::string redis_namespace = "dovewarden";
  unsigned workers = 4;
  std::chrono::milliseconds full_sync_interval{24 * 3600 * 1000};
  std::chrono::milliseconds retry_min{10000};
  std::chrono::milliseconds retry_max{600000};
  replication::Trigger trigger = replication::Trigger::defaults();
  bool sweep_enabled = true;
  std::chrono::milliseconds sweep_interval{3600 * 1000};
  std::chrono::milliseconds sweep_threshold{24 * 3600 * 1000};

  bool enabled() const { return !doveadm_url.empty(); }
};

// What the webhooks need (docs/webhooks.md).
struct WebhookConfig {
  bool enabled = true;
  std::vector<std::chrono::milliseconds> retry_schedule;
  std::string allow_nets; // comma-separated networks the SSRF guard lets by
  std::chrono::milliseconds disable_after{std::chrono::hours(5 * 24)};
  std::size_t max_payload = std::size_t{256} * 1024;
  unsigned max_in_flight = 64;
  std::chrono::milliseconds retention{std::chrono::hours(7 * 24)};
};

// Everything dovewardend is told at start-up. Each setting is an environment
// variable (DOVEWARDEN_*) with a command-line flag of the same name
// (--zmq-endpoint); a flag beats the environment, which beats the
// --config file, which beats the default.
struct Config {
  std::string zmq_endpoint = "ipc:///run/dovewarden/events.sock";
  mode_t zmq_socket_mode = 0666;
  std::optional<gid_t> zmq_socket_group; // nothing: leave the group alone
  int zmq_rcvhwm = 100000;

  std::string stream;              // "": off, "-": stdout, else a file
  std::string stream_events = "*"; // comma-separated type globs
  std::chrono::milliseconds stream_flush_interval{200};
  std::size_t stream_flush_bytes = 65536;

  std::optional<util::ListenAddress> metrics_addr =
      util::ListenAddress{"127.0.0.1", 9090}; // nothing: off

  std::optional<util::ListenAddress> http_addr =
      util::ListenAddress{"127.0.0.1", 8080}; // POST /events; nothing: off

  ReplicationConfig replication;

  std::optional<util::ListenAddress> admin_addr =
      util::ListenAddress{"127.0.0.1", 9091}; // nothing: off
  std::string admin_token;
  std::string admin_token_file;

  WebhookConfig webhooks;

  util::LogLevel log_level = util::LogLevel::info;
  std::chrono::milliseconds shutdown_timeout{5000};

  std::string config_file; // "" if none was given

  // Remarks for the log once it is set up (unknown keys in the file, ...).
  std::vector<std::string> warnings;

  // Returns the environment variable's value, or nothing if it is unset.
  using EnvLookup = std::function<std::optional<std::string>(const char *)>;
  static EnvLookup process_environment();

  // Reads the command line, the environment and the --config file. Returns
  // nothing if --help or --version was answered on out. Throws ConfigError
  // naming the setting on a bad value or an unknown flag.
  static std::optional<Config> from_command_line(int argc,
                                                 const char *const *argv,
                                                 const EnvLookup &env,
                                                 std::ostream &out);
};

} // namespace dovewarden::config
