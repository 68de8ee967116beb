#include "webhook/RetrySchedule.hpp"
#include "webhook/Verdict.hpp"

#include <boost/test/unit_test.hpp>

using namespace dovewarden::webhook;
using namespace std::chrono_literals;
using Action = Verdict::Action;
using Failure = AttemptResult::Failure;

namespace {

// Wed, 21 Oct 2015 07:28:00 GMT
const TimePoint k_date = Clock::from_time_t(1445412480);

AttemptResult response(int status, std::string retry_after = "") {
  AttemptResult result;
  result.status = status;
  result.retry_after = std::move(retry_after);
  return result;
}

AttemptResult failure(Failure kind) {
  AttemptResult result;
  result.failure = kind;
  return result;
}

} // namespace

BOOST_AUTO_TEST_SUITE(verdict)

BOOST_AUTO_TEST_CASE(success_is_2xx_only) {
  for (int status : {200, 201, 202, 204, 299})
    BOOST_TEST((judge(response(status), k_date).action == Action::succeed));
  for (int status : {100, 199, 300, 301, 302, 304, 307, 308, 400, 401, 404, 413,
                     500, 501, 505, 599})
    BOOST_TEST((judge(response(status), k_date).action == Action::retry),
               "status " << status);
}

BOOST_AUTO_TEST_CASE(gone_disables) {
  BOOST_TEST((judge(response(410), k_date).action == Action::disable));
  BOOST_TEST((judge(response(410, "5"), k_date).action == Action::disable));
}

BOOST_AUTO_TEST_CASE(transport_failures_retry) {
  for (auto kind : {Failure::timeout, Failure::refused, Failure::error}) {
    const auto verdict = judge(failure(kind), k_date);
    BOOST_TEST((verdict.action == Action::retry));
    BOOST_TEST(verdict.not_before.count() == 0);
  }
}

BOOST_AUTO_TEST_CASE(retry_after_honoured_for_throttling_statuses) {
  for (int status : {429, 502, 503, 504}) {
    const auto verdict = judge(response(status, "120"), k_date);
    BOOST_TEST((verdict.action == Action::retry));
    BOOST_TEST((verdict.not_before == 120s), "status " << status);
  }
  BOOST_TEST(judge(response(500, "120"), k_date).not_before.count() == 0);
  BOOST_TEST(judge(response(429), k_date).not_before.count() == 0);
  BOOST_TEST(judge(response(429, "soon"), k_date).not_before.count() == 0);
}

BOOST_AUTO_TEST_CASE(retry_after_seconds) {
  BOOST_TEST((*parse_retry_after("0", k_date) == 0ms));
  BOOST_TEST((*parse_retry_after(" 2 ", k_date) == 2s));
  BOOST_TEST((*parse_retry_after("86400", k_date) == 24h));
  BOOST_TEST((*parse_retry_after("86401", k_date) == 24h));
  BOOST_TEST((*parse_retry_after("99999999999999999999999", k_date) == 24h));
  BOOST_TEST(!parse_retry_after("", k_date));
  BOOST_TEST(!parse_retry_after("-1", k_date));
  BOOST_TEST(!parse_retry_after("1.5", k_date));
  BOOST_TEST(!parse_retry_after("5s", k_date));
}

BOOST_AUTO_TEST_CASE(retry_after_http_date) {
  const auto earlier = k_date - 90s;
  BOOST_TEST(
      (*parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", earlier) == 90s));
  BOOST_TEST((
      *parse_retry_after("Wednesday, 21-Oct-15 07:28:00 GMT", earlier) == 90s));
  BOOST_TEST((*parse_retry_after("Wed Oct 21 07:28:00 2015", earlier) == 90s));
  // past dates mean now; far ones are capped
  BOOST_TEST((
      *parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", k_date + 1h) == 0ms));
  BOOST_TEST((*parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT",
                                 k_date - 72h) == 24h));
  BOOST_TEST(!parse_retry_after("Wed, 21 Oct 2015 07:28:00", earlier));
  BOOST_TEST(!parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT x", earlier));
}

BOOST_AUTO_TEST_CASE(outcome_follows_the_schedule) {
  auto schedule = *RetrySchedule::parse("0s,10s,1m");
  const auto now = k_date;
  const auto succeeded =
      outcome(Verdict{Action::succeed, 0ms}, schedule.delay(1), now);
  BOOST_TEST((succeeded.state == DeliveryState::succeeded));
  const auto gone =
      outcome(Verdict{Action::disable, 0ms}, schedule.delay(1), now);
  BOOST_TEST((gone.state == DeliveryState::failed));

  const auto first = outcome(Verdict{}, schedule.delay(1), now);
  BOOST_TEST((first.state == DeliveryState::pending));
  BOOST_TEST((first.retry_at >= now + 8s));
  BOOST_TEST((first.retry_at <= now + 12s));
  const auto second = outcome(Verdict{}, schedule.delay(2), now);
  BOOST_TEST((second.state == DeliveryState::pending));
  BOOST_TEST((second.retry_at >= now + 48s));
  BOOST_TEST((second.retry_at <= now + 72s));
  const auto last = outcome(Verdict{}, schedule.delay(3), now);
  BOOST_TEST((last.state == DeliveryState::failed));
}

BOOST_AUTO_TEST_CASE(outcome_waits_for_retry_after) {
  auto schedule = *RetrySchedule::parse("0s,100ms,100ms");
  const auto later =
      outcome(Verdict{Action::retry, 2s}, schedule.delay(1), k_date);
  BOOST_TEST((later.state == DeliveryState::pending));
  BOOST_TEST((later.retry_at == k_date + 2s));
  // Retry-After does not stretch the schedule past its end
  const auto last =
      outcome(Verdict{Action::retry, 2s}, schedule.delay(3), k_date);
  BOOST_TEST((last.state == DeliveryState::failed));
}

BOOST_AUTO_TEST_CASE(attempt_labels) {
  BOOST_TEST(attempt_label(response(204)) == "2xx");
  BOOST_TEST(attempt_label(response(301)) == "3xx");
  BOOST_TEST(attempt_label(response(410)) == "4xx");
  BOOST_TEST(attempt_label(response(503)) == "5xx");
  BOOST_TEST(attempt_label(response(101)) == "error");
  BOOST_TEST(attempt_label(response(600)) == "error");
  BOOST_TEST(attempt_label(failure(Failure::timeout)) == "timeout");
  BOOST_TEST(attempt_label(failure(Failure::refused)) == "refused");
  BOOST_TEST(attempt_label(failure(Failure::error)) == "error");
}

BOOST_AUTO_TEST_CASE(failing_too_long_after_the_streak) {
  Endpoint endpoint;
  const auto now = k_date;
  BOOST_TEST(!failing_too_long(endpoint, now, 120h));
  endpoint.failing_since = now - 119h;
  BOOST_TEST(!failing_too_long(endpoint, now, 120h));
  endpoint.failing_since = now - 121h;
  BOOST_TEST(failing_too_long(endpoint, now, 120h));
  BOOST_TEST(!failing_too_long(endpoint, now, 0ms));
}

BOOST_AUTO_TEST_SUITE_END()
