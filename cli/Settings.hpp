#pragma once

#include "util/ListenAddress.hpp"

#include <tl/expected.hpp>

#include <functional>
#include <optional>
#include <string>

namespace dovewarden::cli {

// sysexits.h codes, as doveadm uses them
constexpr int k_exit_ok = 0;
constexpr int k_exit_usage = 64;
constexpr int k_exit_no_user = 67;
constexpr int k_exit_unavailable = 69;
constexpr int k_exit_software = 70;
constexpr int k_exit_protocol = 76;
constexpr int k_exit_no_permission = 77;

// A failure of the command: the line for stderr and the exit code.
struct Failure {
  int exit_code;
  std::string message;
};

// Where dovewarden finds the admin API and its token.
struct Settings {
  std::string host; // to connect to: loopback for a wildcard address
  std::uint16_t port = 0;
  std::string token;

  // Returns the environment variable's value, or nothing if it is unset.
  using EnvLookup = std::function<std::optional<std::string>(const char *)>;

  struct Sources {
    std::string addr_flag;   // --addr, "" if not given
    std::string config_flag; // --config, "" if not given
    // read, if it exists, when neither --config nor DOVEWARDEN_CONFIG names
    // a file
    std::string default_config = "/etc/default/dovewardend";
    std::string default_store = "/var/lib/dovewarden";
  };

  // Takes each DOVEWARDEN_* value from the environment, else from the
  // config file; the token as dovewardend does (DOVEWARDEN_ADMIN_TOKEN,
  // DOVEWARDEN_ADMIN_TOKEN_FILE, DOVEWARDEN_STORE_PATH/admin.token). Returns
  // a usage failure for a bad address or config file, a permission failure
  // if the token cannot be read.
  static tl::expected<Settings, Failure> resolve(const EnvLookup &env,
                                                 const Sources &sources);
};

} // namespace dovewarden::cli
