#pragma once

#include "webhook/TransferResult.hpp"
#include "webhook/Verdict.hpp"
#include "webhook/WebhookStore.hpp"

#include <chrono>
#include <optional>
#include <string>

namespace dovewarden::webhook {

// One attempt of a delivery, judged by the rules (Verdict.hpp).
struct Judgement {
  Attempt attempt;      // as the delivery log keeps it
  AttemptResult result; // attempt_label() names it for the metrics
  Verdict verdict;
  Outcome outcome; // what becomes of the delivery
  // "succeeded", "failed", "retried" or "disabled", as the metrics count
  // deliveries (WebhookMetrics::k_results)
  const char *delivery_result = "";
};

// Returns the attempt of delivery delivery_id that started at `at` and ended
// as transfer, judged at now. retry_delay is what the retry schedule waits
// before the next attempt, nothing if no attempt is left.
Judgement judge_transfer(TransferResult transfer,
                         const std::string &delivery_id, TimePoint at,
                         std::optional<std::chrono::milliseconds> retry_delay,
                         TimePoint now);

} // namespace dovewarden::webhook
