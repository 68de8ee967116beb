#include "sources/ZmqConfig.hpp"

#include "shared/curve_key.hpp"
#include "util/ConfigError.hpp"
#include "util/PrivateFiles.hpp"
#include "util/Strings.hpp"
#include "util/System.hpp"

#include <zmq.h>

#include <limits>

namespace dovewarden::sources {

namespace {

using util::ConfigError;
using util::SettingValues;

constexpr const char *k_endpoint = "DOVEWARDEN_ZMQ_ENDPOINT";
constexpr const char *k_socket_group = "DOVEWARDEN_ZMQ_SOCKET_GROUP";
constexpr const char *k_allow_uids = "DOVEWARDEN_ZMQ_ALLOW_UIDS";
constexpr const char *k_allow_gids = "DOVEWARDEN_ZMQ_ALLOW_GIDS";
constexpr const char *k_secret_key_file =
    "DOVEWARDEN_ZMQ_CURVE_SECRET_KEY_FILE";
constexpr const char *k_client_keys = "DOVEWARDEN_ZMQ_CURVE_CLIENT_KEYS";

// Debian's Dovecot runs its mail processes as the mail user, whose uid
// Dovecot keeps at first_valid_uid (500) or above; lmtp and doveadm may
// connect before they drop root; 65534 is nobody
constexpr const char *k_default_uids = "root,dovecot,dovenull,500-65533";

void check_endpoint(const std::string &endpoint) {
  const auto scheme_end = endpoint.find("://");
  const auto scheme = endpoint.substr(0, scheme_end);
  const bool known = scheme == "ipc" || scheme == "tcp";
  if (scheme_end == std::string::npos || !known ||
      endpoint.size() == scheme_end + 3)
    throw ConfigError(
        k_endpoint,
        SettingValues::invalid("endpoint", endpoint,
                               "expected ipc://PATH or tcp://HOST:PORT"));
}

std::optional<gid_t> group(const std::string &text) {
  if (text.empty())
    return std::nullopt;
  const auto numeric =
      util::parse_unsigned(text, std::numeric_limits<gid_t>::max() - 1);
  if (numeric)
    return static_cast<gid_t>(*numeric);
  if (const auto gid = util::group_id(text))
    return gid;
  throw ConfigError(k_socket_group, "unknown group " + util::quote(text));
}

PeerPolicy::Ids ids(const SettingValues &values, const char *env,
                    PeerPolicy::Kind kind, const char *fallback) {
  const auto &text = values.text(env);
  auto parsed = PeerPolicy::Ids::parse(text, kind, text == fallback);
  if (!parsed)
    throw ConfigError(env, parsed.error());
  return std::move(*parsed);
}

// Reads the secret key (Z85 or hex) from path, which only the daemon's user
// may read: the key is what tells the plugins this is their daemon. Returns
// it in Z85, as ZeroMQ takes it.
std::string read_secret_key(const std::string &path) {
  const auto text = util::read_secret_line(path, true);
  if (!text && text.error().errnum != 0)
    throw ConfigError(k_secret_key_file,
                      "cannot read " + util::quote(path) + ": " +
                          util::error_text(text.error().errnum));
  if (!text)
    throw ConfigError(
        k_secret_key_file,
        util::quote(path) + " has mode " + util::octal_mode(text.error().mode) +
            ": only dovewardend's user may have access; chmod 600 it");
  const auto key = curve::key_bytes(*text);
  if (!key)
    throw ConfigError(k_secret_key_file,
                      util::quote(path) +
                          " does not start with a line holding a key: 40 Z85 "
                          "characters or 64 hex digits");
  std::string z85(41, '\0');
  ::zmq_z85_encode(z85.data(),
                   reinterpret_cast<const std::uint8_t *>(key->data()),
                   key->size());
  z85.resize(40);
  return z85;
}

} // namespace

const std::vector<util::Setting> &ZmqConfig::settings() {
  static const std::vector<util::Setting> settings{
      {k_endpoint, "--zmq-endpoint", "ENDPOINT",
       "ipc:///run/dovewarden/events.sock",
       "ZeroMQ endpoint the PULL socket binds: ipc://PATH or tcp://HOST:PORT",
       "the PULL socket: `ipc://PATH` or `tcp://HOST:PORT`"},
      {"DOVEWARDEN_ZMQ_SOCKET_MODE", "--zmq-socket-mode", "MODE", "0666",
       "permissions of the ipc socket file, octal",
       "permissions of the ipc socket file. With system users each user's own "
       "uid writes, hence 0666; with virtual users prefer `0660` and the mail "
       "uid's group below"},
      {k_socket_group, "--zmq-socket-group", "GROUP", "",
       "group (name or gid) of the ipc socket file; empty keeps the daemon's",
       "group of the ipc socket file, name or gid; empty: the daemon's"},
      {k_allow_uids, "--zmq-allow-uids", "UIDS", k_default_uids,
       "users (names, uids, ranges) whose processes may send on the ipc "
       "socket; * for anyone",
       "users whose processes may send on the ipc socket, judged by the "
       "kernel's credentials of the connecting process: names, uids and "
       "ranges, comma-separated; `*` for anyone. The default is what Debian's "
       "Dovecot runs mail processes as (`docs/security.md`); with virtual "
       "users, set the mail uid alone (`vmail`)"},
      {k_allow_gids, "--zmq-allow-gids", "GIDS", "",
       "groups (names, gids, ranges) whose processes may send on the ipc "
       "socket too",
       "groups (names, gids, ranges) whose processes may send too; the "
       "process's primary gid is compared"},
      {k_secret_key_file, "--zmq-curve-secret-key-file", "PATH", "",
       "file (mode 0600) with the daemon's CURVE secret key, Z85 or hex; "
       "empty: no CURVE",
       "a file whose first line is the daemon's CURVE secret key (64 hex "
       "digits, or ZeroMQ's Z85, 40 characters); mode 0600: dovewardend "
       "refuses one that its group or others may access. The log's start-up "
       "line shows the matching public key, in hex, for "
       "`dovewarden_curve_server_key`; empty: no CURVE"},
      {k_client_keys, "--zmq-curve-client-keys", "KEYS", "",
       "comma-separated CURVE public keys (Z85 or hex) of the plugins that may "
       "send",
       "comma-separated CURVE public keys (hex or Z85) of the plugins that may "
       "send; required with the secret key"},
      {"DOVEWARDEN_ZMQ_RCVHWM", "--zmq-rcvhwm", "COUNT", "100000",
       "messages the PULL socket queues before senders find it full",
       "messages the PULL socket queues before senders find it full"},
  };
  return settings;
}

ZmqConfig ZmqConfig::from(const util::SettingValues &values) {
  ZmqConfig z;
  z.endpoint = values.text(k_endpoint);
  check_endpoint(z.endpoint);
  z.socket_mode = static_cast<mode_t>(
      values.number("DOVEWARDEN_ZMQ_SOCKET_MODE", 0, 0777, 8));
  z.socket_group = group(values.text(k_socket_group));
  z.peers = PeerPolicy(
      ids(values, k_allow_uids, PeerPolicy::Kind::user, k_default_uids),
      ids(values, k_allow_gids, PeerPolicy::Kind::group, ""));

  const auto &key_file = values.text(k_secret_key_file);
  const auto &client_keys = values.text(k_client_keys);
  if (!key_file.empty()) {
    if (::zmq_has("curve") == 0)
      throw ConfigError(k_secret_key_file,
                        "this libzmq was built without CURVE");
    z.curve_secret_key = read_secret_key(key_file);
    for (const auto key : util::split(client_keys, ',')) {
      auto decoded = curve::key_bytes(key);
      if (!decoded)
        throw ConfigError(
            k_client_keys,
            SettingValues::invalid("key", std::string(key),
                                   "expected 40 Z85 characters or 64 hex "
                                   "digits"));
      z.curve_keys.push_back(std::move(*decoded));
    }
    if (z.curve_keys.empty())
      throw ConfigError(k_client_keys,
                        std::string("required with ") + k_secret_key_file +
                            ": without it any client could send");
  } else if (!util::trim(client_keys).empty()) {
    throw ConfigError(k_client_keys, std::string("needs ") + k_secret_key_file);
  }
  z.rcvhwm = static_cast<int>(values.number(
      "DOVEWARDEN_ZMQ_RCVHWM", 0,
      static_cast<std::uint64_t>(std::numeric_limits<int>::max())));
  return z;
}

} // namespace dovewarden::sources
