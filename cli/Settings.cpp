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
  if (token_path.empty())
    token_path = lookup(k_store_env).value_or(sources.default_store) + "/" +
                 AdminToken::k_file_name;
  auto token = AdminToken::read_file(token_path);
  if (!token)
    return failure(k_exit_no_permission, token.error());
  settings.token = std::move(*token);
  return settings;
}

} // namespace dovewarden::cli
