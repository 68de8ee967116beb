#pragma once

#include <tl/expected.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace dovewarden::webhook {

// When the attempts of a delivery are made: delay i is waited before attempt
// i (0-based; the first is normally at once, the others after a failure).
// With the schedule used up, the delivery has failed. Not thread-safe.
class RetrySchedule {
public:
  // a C string: the settings table (WebhookConfig) wants one
  static constexpr const char *k_default = "0s,5s,5m,30m,2h,5h,10h,10h";
  static constexpr double k_jitter = 0.2; // ±20% on every delay but 0

  // The default schedule.
  RetrySchedule();
  explicit RetrySchedule(std::vector<std::chrono::milliseconds> delays);

  // Parses "0s,5s,5m,…" (util::parse_duration's units). Returns the
  // schedule, or an error text naming the bad item.
  static tl::expected<RetrySchedule, std::string> parse(std::string_view text);

  // Returns how long to wait before the next attempt when attempts_made
  // attempts failed, jittered by ±20% (a zero delay stays zero), or nothing
  // if no attempt is left. The first attempt is attempts_made == 0.
  std::optional<std::chrono::milliseconds> delay(std::uint32_t attempts_made);
  // The same without jitter.
  std::optional<std::chrono::milliseconds>
  nominal_delay(std::uint32_t attempts_made) const;

  // Returns how many attempts the schedule allows in all.
  std::size_t attempts() const { return m_delays.size(); }
  const std::vector<std::chrono::milliseconds> &delays() const {
    return m_delays;
  }
  // Returns the schedule as parse() reads it.
  std::string to_string() const;

private:
  std::vector<std::chrono::milliseconds> m_delays;
  std::minstd_rand m_random;
};

} // namespace dovewarden::webhook
