#include "webhook/TransferJudgement.hpp"

#include <utility>

namespace dovewarden::webhook {

namespace {

AttemptResult result_of(const TransferResult &transfer) {
  AttemptResult result;
  if (transfer.status != 0) {
    result.status = transfer.status;
    result.retry_after = transfer.retry_after;
  } else if (!transfer.refusal.empty()) {
    result.failure = AttemptResult::Failure::refused;
  } else {
    result.failure = transfer.timed_out ? AttemptResult::Failure::timeout
                                        : AttemptResult::Failure::error;
  }
  return result;
}

std::string error_of(const TransferResult &transfer) {
  if (transfer.status == 0 && !transfer.refusal.empty())
    return "refused: " + transfer.refusal;
  return transfer.error;
}

const char *delivery_result(const Verdict &verdict, const Outcome &outcome) {
  if (verdict.action == Verdict::Action::disable)
    return "disabled";
  switch (outcome.state) {
  case DeliveryState::succeeded:
    return "succeeded";
  case DeliveryState::failed:
    return "failed";
  case DeliveryState::pending:
    break;
  }
  return "retried";
}

} // namespace

Judgement judge_transfer(TransferResult transfer,
                         const std::string &delivery_id, TimePoint at,
                         std::optional<std::chrono::milliseconds> retry_delay,
                         TimePoint now) {
  Judgement judged;
  judged.result = result_of(transfer);
  judged.attempt.delivery_id = delivery_id;
  judged.attempt.at = at;
  judged.attempt.status = judged.result.status;
  judged.attempt.latency = transfer.latency;
  judged.attempt.error = error_of(transfer);
  judged.attempt.response = std::move(transfer.response);
  judged.verdict = judge(judged.result, now);
  judged.outcome = outcome(judged.verdict, retry_delay, now);
  judged.delivery_result = delivery_result(judged.verdict, judged.outcome);
  return judged;
}

} // namespace dovewarden::webhook
