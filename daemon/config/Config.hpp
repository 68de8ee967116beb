#pragma once

#include "audit/AuditConfig.hpp"
#include "bus/Bus.hpp"
#include "replication/ReplicationConfig.hpp"
#include "sources/ZmqConfig.hpp"
#include "util/HttpLimits.hpp"
#include "util/ListenAddress.hpp"
#include "util/Logger.hpp"
#include "util/NetworkList.hpp"
#include "util/SettingValues.hpp"
#include "webhook/WebhookConfig.hpp"

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <functional>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

namespace dovewarden::config {

// A part of dovewardend's settings, as --help, the man page and the
// configuration reference list them.
struct SettingGroup {
  const char *name;  // names its table in docs/configuration.md
  const char *title; // its heading in the man page
  std::vector<util::Setting> settings;
};

// Every setting of dovewardend, in the order of --help.
std::vector<SettingGroup> setting_groups();

// --config: where the other settings may come from, so none of them.
extern const util::Setting k_config_file_setting;

// Everything dovewardend is told at start-up. Each setting is an environment
// variable (DOVEWARDEN_*) with a command-line flag of the same name
// (--zmq-endpoint); a flag beats the environment, which beats the
// --config file, which beats the default.
struct Config {
  sources::ZmqConfig zmq;

  std::string stream;              // "": off, "-": stdout, else a file
  std::string stream_events = "*"; // comma-separated type globs
  std::chrono::milliseconds stream_flush_interval{200};
  std::size_t stream_flush_bytes = 65536;
  std::size_t stream_queue = 10000;
  bus::Bus::Overflow stream_overflow = bus::Bus::Overflow::drop;

  std::optional<util::ListenAddress> metrics_addr =
      util::ListenAddress{"127.0.0.1", 9960}; // nothing: off

  std::optional<util::ListenAddress> http_addr =
      util::ListenAddress{"127.0.0.1", 8080}; // POST /events; nothing: off
  std::size_t http_max_body = std::size_t{10} * 1024 * 1024;
  std::string http_token_file;       // "": POST /events needs no token
  util::NetworkList http_allow_from; // empty: every peer

  util::HttpLimits listener_limits; // of every HTTP listener

  replication::ReplicationConfig replication;

  std::optional<util::ListenAddress> admin_addr =
      util::ListenAddress{"127.0.0.1", 9961}; // nothing: off
  std::string admin_token;
  std::string admin_token_file;

  webhook::WebhookConfig webhooks;

  audit::AuditConfig audit;

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
