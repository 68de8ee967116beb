#include "Settings.hpp"

#include "admin/AdminToken.hpp"
#include "config/EnvFile.hpp"
#include "util/Fatal.hpp"
#include "util/Strings.hpp"

#include <unistd.h>

namespace dovewarden::cli {

namespace {

using admin::AdminToken;

constexpr const char *k_addr_env = "DOVEWARDEN_ADMIN_ADDR";
constexpr const char *k_config_env = "DOVEWARDEN_CONFIG";
constexpr const char *k_store_env = "DOVEWARDEN_STORE_PATH";
constexpr const char *k_default_addr = "127.0.0.1:9961";

tl::unexpected<Failure> failure(int exit_code, std::string message) {
  return tl::unexpected(Failure{exit_code, std::move(message)});
}

// Returns the settings file to read, "" for none.
std::string config_path(const Settings::EnvLookup &env,
                        const Settings::Sources &sources) {
  if (!sources.config_flag.empty())
    return sources.config_flag;
  if (auto path = env(k_config_env); path && !path->empty())
    return *path;
  if (!sources.default_config.empty() &&
      ::access(sources.default_config.c_str(), R_OK) == 0)
    return sources.default_config;
  return "";
}

// Returns what to do when the token file at path cannot be read; named: the
// path came from DOVEWARDEN_ADMIN_TOKEN_FILE.
std::string token_advice(const std::string &path, bool named) {
  std::string advice;
  if (::access(path.c_str(), F_OK) == 0)
    advice = "run as root (the file is dovewardend's, mode 0600), or ";
  else if (!named)
    advice = std::string("dovewardend creates it when it starts (in ") +
             k_store_env + "); or ";
  return advice + "set " + AdminToken::k_token_file_env +
         " to a token file you can read, or " + AdminToken::k_token_env +
         ", in the environment or the --config file";
}

} // namespace

tl::expected<Settings, Failure> Settings::resolve(const EnvLookup &env,
                                                  const Sources &sources) {
  config::EnvFile file;
  const auto path = config_path(env, sources);
  try {
    if (!path.empty())
      file = config::EnvFile::read(path);
  } catch (const util::Fatal &e) {
    return failure(k_exit_usage, e.what());
  }
  const EnvLookup lookup = [&env, &file](const char *key) {
    auto value = env(key);
    return value ? value : file.get(key);
  };

  Settings settings;
  auto addr_text = sources.addr_flag;
  if (addr_text.empty())
    addr_text = lookup(k_addr_env).value_or(k_default_addr);
  const auto address = util::ListenAddress::parse(addr_text);
  if (!address)
    return failure(k_exit_usage, "invalid address " + util::quote(addr_text) +
                                     ": " + address.error());
  settings.host = address->host;
  if (settings.host.empty() || settings.host == "0.0.0.0")
    settings.host = "127.0.0.1";
  else if (settings.host == "::")
    settings.host = "::1";
  settings.port = address->port;

  if (auto token = lookup(AdminToken::k_token_env)) {
    settings.token = std::string(util::trim(*token));
    if (settings.token.empty())
      return failure(k_exit_no_permission,
                     std::string(AdminToken::k_token_env) + ": empty token");
    return settings;
  }
  auto token_path = lookup(AdminToken::k_token_file_env).value_or("");
  const bool named = !token_path.empty();
  if (!named)
    token_path = lookup(k_store_env).value_or(sources.default_store) + "/" +
                 AdminToken::k_file_name;
  auto token = AdminToken::read_file(token_path);
  if (!token)
    return failure(k_exit_no_permission,
                   token.error() + "; " + token_advice(token_path, named));
  settings.token = std::move(*token);
  return settings;
}

} // namespace dovewarden::cli
