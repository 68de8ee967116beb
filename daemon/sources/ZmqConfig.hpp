#pragma once

#include "sources/PeerPolicy.hpp"
#include "util/SettingValues.hpp"

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

namespace dovewarden::sources {

// What the ZeroMQ source needs: where it binds, who may send
// (docs/security.md).
struct ZmqConfig {
  std::string endpoint = "ipc:///run/dovewarden/events.sock"; // or tcp://
  mode_t socket_mode = 0666;           // ipc socket file permissions
  std::optional<gid_t> socket_group;   // ipc socket file group; nothing: ours
  PeerPolicy peers;                    // whom the ipc socket lets in
  std::string curve_secret_key;        // Z85; empty: no CURVE
  std::vector<std::string> curve_keys; // clients' public keys, 32 bytes each
  int rcvhwm = 100000;                 // ZMQ_RCVHWM

  // The DOVEWARDEN_ZMQ_* settings, in the order --help lists them.
  static const std::vector<util::Setting> &settings();
  // Reads them; throws util::ConfigError naming a setting with a bad value.
  static ZmqConfig from(const util::SettingValues &values);
};

} // namespace dovewarden::sources
