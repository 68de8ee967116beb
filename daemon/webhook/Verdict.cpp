#include "webhook/Verdict.hpp"

#include "util/Strings.hpp"

#include <algorithm>
#include <array>
#include <ctime>

namespace dovewarden::webhook {

namespace {

using std::chrono::milliseconds;

bool honours_retry_after(int status) {
  return status == 429 || status == 502 || status == 503 || status == 504;
}

// IMF-fixdate first; RFC 850 and asctime() are the obsolete forms RFC 9110
// still asks recipients to accept
std::optional<TimePoint> parse_http_date(const std::string &text) {
  static constexpr std::array<const char *, 3> k_formats{
      "%a, %d %b %Y %H:%M:%S GMT", "%A, %d-%b-%y %H:%M:%S GMT",
      "%a %b %e %H:%M:%S %Y"};
  for (const char *format : k_formats) {
    std::tm fields{};
    const char *end = ::strptime(text.c_str(), format, &fields);
    if (end == nullptr || *end != '\0')
      continue;
    const std::time_t seconds = ::timegm(&fields);
    if (seconds == static_cast<std::time_t>(-1))
      continue;
    return Clock::from_time_t(seconds);
  }
  return std::nullopt;
}

} // namespace

std::optional<milliseconds> parse_retry_after(std::string_view value,
                                              TimePoint now) {
  const auto text = util::trim(value);
  if (text.empty())
    return std::nullopt;
  const milliseconds cap = k_max_retry_after;
  const auto cap_seconds = static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::seconds>(cap).count());
  if (std::all_of(text.begin(), text.end(),
                  [](char c) { return c >= '0' && c <= '9'; })) {
    // a number too large for parse_unsigned's bound is simply over the cap
    const auto seconds = util::parse_unsigned(text, cap_seconds);
    if (!seconds)
      return cap;
    return std::chrono::seconds(*seconds);
  }
  const auto date = parse_http_date(std::string(text));
  if (!date)
    return std::nullopt;
  if (*date <= now)
    return milliseconds(0);
  return std::min(cap, std::chrono::ceil<milliseconds>(*date - now));
}

Verdict judge(const AttemptResult &result, TimePoint now) {
  Verdict verdict;
  if (result.failure != AttemptResult::Failure::none)
    return verdict;
  if (result.status >= 200 && result.status <= 299) {
    verdict.action = Verdict::Action::succeed;
  } else if (result.status == 410) {
    verdict.action = Verdict::Action::disable;
  } else if (honours_retry_after(result.status)) {
    verdict.not_before =
        parse_retry_after(result.retry_after, now).value_or(milliseconds(0));
  }
  return verdict;
}

Outcome outcome(const Verdict &verdict, std::optional<milliseconds> delay,
                TimePoint now) {
  Outcome result;
  switch (verdict.action) {
  case Verdict::Action::succeed:
    result.state = DeliveryState::succeeded;
    return result;
  case Verdict::Action::disable:
    result.state = DeliveryState::failed;
    return result;
  case Verdict::Action::retry:
    break;
  }
  if (!delay) {
    result.state = DeliveryState::failed;
    return result;
  }
  result.state = DeliveryState::pending;
  result.retry_at = now + std::max(*delay, verdict.not_before);
  return result;
}

const char *attempt_label(const AttemptResult &result) {
  switch (result.failure) {
  case AttemptResult::Failure::timeout:
    return "timeout";
  case AttemptResult::Failure::refused:
    return "refused";
  case AttemptResult::Failure::error:
    return "error";
  case AttemptResult::Failure::none:
    break;
  }
  static constexpr std::array<const char *, 4> k_classes{"2xx", "3xx", "4xx",
                                                         "5xx"};
  if (result.status < 200 || result.status > 599)
    return "error";
  return k_classes[static_cast<std::size_t>(result.status / 100 - 2)];
}

bool failing_too_long(const Endpoint &endpoint, TimePoint now,
                      std::chrono::milliseconds disable_after) {
  if (disable_after.count() == 0 || endpoint.failing_since == TimePoint{})
    return false;
  return now - endpoint.failing_since >= disable_after;
}

} // namespace dovewarden::webhook
