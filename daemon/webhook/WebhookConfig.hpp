#pragma once

#include "util/SettingValues.hpp"

#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

namespace dovewarden::webhook {

// What the webhooks need (docs/webhooks.md).
struct WebhookConfig {
  bool enabled = true;
  std::vector<std::chrono::milliseconds> retry_schedule;
  std::string allow_nets; // comma-separated networks the SSRF guard lets by
  std::chrono::milliseconds disable_after{5 * 24 * 3600 * 1000LL};
  std::size_t max_payload = 256 * 1024;
  unsigned max_in_flight = 64;
  std::chrono::milliseconds retention{7 * 24 * 3600 * 1000LL};

  // The DOVEWARDEN_WEBHOOK* settings, in the order --help lists them.
  static const std::vector<util::Setting> &settings();
  // Reads them; throws util::ConfigError naming a setting with a bad value.
  static WebhookConfig from(const util::SettingValues &values);
};

} // namespace dovewarden::webhook
