#pragma once

#include "webhook/Endpoint.hpp"
#include "webhook/WebhookStore.hpp"

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace dovewarden::webhook {

// How one HTTP attempt ended, as far as the rules care.
struct AttemptResult {
  enum class Failure {
    none,    // a response came: status holds it
    timeout, // the endpoint's timeout fired
    refused, // the SSRF guard refused the address dialled
    error,   // any other transport error (DNS, connection, TLS, too large)
  };
  Failure failure = Failure::none;
  int status = 0;
  std::string retry_after; // the Retry-After header, "" if none
};

// What the rules make of an attempt.
struct Verdict {
  enum class Action {
    succeed, // 2xx
    retry,   // per schedule, not before not_before
    disable, // 410 Gone: the endpoint is disabled, the delivery failed
  };
  Action action = Action::retry;
  std::chrono::milliseconds not_before{0}; // from Retry-After, capped
};

// Retry-After is honoured up to this; a receiver cannot park a delivery
// for longer.
constexpr std::chrono::hours k_max_retry_after{24};

// Returns the rules' verdict on an attempt: 2xx succeed; 410 disable; 3xx
// (redirects are never followed), other 4xx and 5xx, and transport failures
// retry; 429, 502, 503 and 504 no earlier than their Retry-After.
Verdict judge(const AttemptResult &result, TimePoint now);

// Parses a Retry-After value, delay-seconds or an HTTP-date. Returns how
// long to wait from now (0 for a date in the past), capped at
// k_max_retry_after, or nothing if value is neither.
std::optional<std::chrono::milliseconds>
parse_retry_after(std::string_view value, TimePoint now);

// Returns what becomes of a delivery after an attempt judged verdict at
// now, given delay, what the retry schedule waits before the next attempt
// (nothing if no attempt is left): succeeded; failed if the endpoint goes or
// the schedule is used up; else pending, due after delay and not before
// verdict.not_before.
Outcome outcome(const Verdict &verdict,
                std::optional<std::chrono::milliseconds> delay, TimePoint now);

// Returns the metric label of an attempt: "2xx", "3xx", "4xx", "5xx",
// "timeout", "refused" or "error" (also for a status outside 200..599).
const char *attempt_label(const AttemptResult &result);

// Returns true if the endpoint has been failing since longer than
// disable_after at now (0: never disable).
bool failing_too_long(const Endpoint &endpoint, TimePoint now,
                      std::chrono::milliseconds disable_after);

} // namespace dovewarden::webhook
