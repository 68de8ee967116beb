#pragma once

#include "util/SettingValues.hpp"
#include "webhook/AddressPolicy.hpp"

#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

namespace dovewarden::webhook {

// What the webhooks need (docs/webhooks.md).
struct WebhookConfig {
  bool enabled = true;
  std::vector<std::chrono::milliseconds> retry_schedule;
  AddressPolicy address_policy; // the networks the SSRF guard lets by
  std::chrono::milliseconds disable_after{std::chrono::hours(5 * 24)};
  std::size_t max_payload = std::size_t{256} * 1024;
  unsigned max_in_flight = 64;
  std::chrono::milliseconds retention{std::chrono::hours(7 * 24)};

  // The DOVEWARDEN_WEBHOOK* settings, in the order --help lists them.
  static const std::vector<util::Setting> &settings();
  // Reads them; throws util::ConfigError naming a setting with a bad value.
  static WebhookConfig from(const util::SettingValues &values);
};

} // namespace dovewarden::webhook
