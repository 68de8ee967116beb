#include "webhook/TransferJudgement.hpp"

#include <boost/test/unit_test.hpp>

#include <string>

using namespace dovewarden::webhook;
using namespace std::chrono_literals;
using Failure = AttemptResult::Failure;

namespace {

// Wed, 21 Oct 2015 07:28:00 GMT
const TimePoint k_at = Clock::from_time_t(1445412480);
const TimePoint k_now = k_at + 250ms;

TransferResult answer(int status, std::string response = "ok") {
  TransferResult transfer;
  transfer.status = status;
  transfer.response = std::move(response);
  transfer.latency = 250ms;
  return transfer;
}

TransferResult failure(std::string error) {
  TransferResult transfer;
  transfer.error = std::move(error);
  transfer.latency = 250ms;
  return transfer;
}

Judgement judged(TransferResult transfer,
                 std::optional<std::chrono::milliseconds> delay = 5s) {
  return judge_transfer(std::move(transfer), "msg_1", k_at, delay, k_now);
}

} // namespace

BOOST_AUTO_TEST_SUITE(transfer_judgement)

BOOST_AUTO_TEST_CASE(an_answer_2xx_succeeds_and_is_logged_as_it_came) {
  const auto judgement = judged(answer(204, "thanks"));
  BOOST_TEST(judgement.attempt.delivery_id == "msg_1");
  BOOST_TEST((judgement.attempt.at == k_at));
  BOOST_TEST(judgement.attempt.status == 204);
  BOOST_TEST(judgement.attempt.latency.count() == 250);
  BOOST_TEST(judgement.attempt.error == "");
  BOOST_TEST(judgement.attempt.response == "thanks");
  BOOST_TEST((judgement.result.failure == Failure::none));
  BOOST_TEST(attempt_label(judgement.result) == "2xx");
  BOOST_TEST((judgement.outcome.state == DeliveryState::succeeded));
  BOOST_TEST(judgement.delivery_result == "succeeded");
}

BOOST_AUTO_TEST_CASE(an_error_status_retries_after_the_schedules_delay) {
  const auto judgement = judged(answer(500, "oops"), 5s);
  BOOST_TEST(judgement.attempt.status == 500);
  BOOST_TEST(judgement.attempt.response == "oops");
  BOOST_TEST((judgement.verdict.action == Verdict::Action::retry));
  BOOST_TEST((judgement.outcome.state == DeliveryState::pending));
  BOOST_TEST((judgement.outcome.retry_at == k_now + 5s));
  BOOST_TEST(judgement.delivery_result == "retried");
}

BOOST_AUTO_TEST_CASE(the_schedule_used_up_fails_the_delivery) {
  const auto judgement = judged(answer(500), std::nullopt);
  BOOST_TEST((judgement.outcome.state == DeliveryState::failed));
  BOOST_TEST(judgement.delivery_result == "failed");
}

BOOST_AUTO_TEST_CASE(gone_disables_the_endpoint_and_fails_the_delivery) {
  const auto judgement = judged(answer(410), 5s);
  BOOST_TEST((judgement.verdict.action == Verdict::Action::disable));
  BOOST_TEST((judgement.outcome.state == DeliveryState::failed));
  BOOST_TEST(judgement.delivery_result == "disabled");
}

BOOST_AUTO_TEST_CASE(retry_after_of_an_answer_is_honoured) {
  auto busy = answer(429);
  busy.retry_after = "120";
  const auto judgement = judged(busy, 1s);
  BOOST_TEST((judgement.outcome.retry_at == k_now + 120s));
}

BOOST_AUTO_TEST_CASE(a_response_cut_off_still_counts_as_answered) {
  auto chatty = answer(200, std::string(1024, 'x'));
  chatty.error = "response cut off after 1048576 bytes";
  const auto judgement = judged(chatty);
  BOOST_TEST(judgement.attempt.status == 200);
  BOOST_TEST(judgement.attempt.error == "response cut off after 1048576 bytes");
  BOOST_TEST(judgement.attempt.response.size() == 1024u);
  BOOST_TEST((judgement.outcome.state == DeliveryState::succeeded));
}

BOOST_AUTO_TEST_CASE(a_refused_address_is_logged_as_refused) {
  auto refused = failure("Failed to connect");
  refused.refusal = "10.0.0.1 is a private address";
  const auto judgement = judged(refused);
  BOOST_TEST(judgement.attempt.status == 0);
  BOOST_TEST(judgement.attempt.error ==
             "refused: 10.0.0.1 is a private address");
  BOOST_TEST((judgement.result.failure == Failure::refused));
  BOOST_TEST(attempt_label(judgement.result) == "refused");
  BOOST_TEST((judgement.outcome.state == DeliveryState::pending));
}

BOOST_AUTO_TEST_CASE(a_timeout_retries_with_the_transports_error) {
  auto slow = failure("Operation timed out after 300 milliseconds");
  slow.timed_out = true;
  const auto judgement = judged(slow);
  BOOST_TEST(judgement.attempt.status == 0);
  BOOST_TEST(judgement.attempt.error ==
             "Operation timed out after 300 milliseconds");
  BOOST_TEST(attempt_label(judgement.result) == "timeout");
  BOOST_TEST((judgement.outcome.state == DeliveryState::pending));
}

BOOST_AUTO_TEST_CASE(other_transport_errors_retry) {
  const auto judgement = judged(failure("Could not resolve host: x.invalid"));
  BOOST_TEST(judgement.attempt.error == "Could not resolve host: x.invalid");
  BOOST_TEST(attempt_label(judgement.result) == "error");
  BOOST_TEST((judgement.outcome.state == DeliveryState::pending));
  BOOST_TEST(judgement.delivery_result == "retried");
}

BOOST_AUTO_TEST_CASE(retry_after_without_an_answer_is_ignored) {
  auto dropped = failure("Connection reset");
  dropped.retry_after = "3600";
  const auto judgement = judged(dropped, 1s);
  BOOST_TEST((judgement.outcome.retry_at == k_now + 1s));
}

BOOST_AUTO_TEST_SUITE_END()
