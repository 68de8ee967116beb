#include "webhook/RetrySchedule.hpp"

#include "util/Duration.hpp"
#include "util/Strings.hpp"

#include <utility>

namespace dovewarden::webhook {

namespace {

std::minstd_rand seeded() {
  std::random_device device;
  return std::minstd_rand(device());
}

} // namespace

RetrySchedule::RetrySchedule() : RetrySchedule(*parse(k_default)) {}

RetrySchedule::RetrySchedule(std::vector<std::chrono::milliseconds> delays)
    : m_delays(std::move(delays)), m_random(seeded()) {}

tl::expected<RetrySchedule, std::string>
RetrySchedule::parse(std::string_view text) {
  std::vector<std::chrono::milliseconds> delays;
  std::size_t position = 0;
  for (const auto item : util::split(text, ',')) {
    position++;
    const auto delay = util::parse_duration(item);
    if (!delay)
      return tl::unexpected("item " + std::to_string(position) + " " +
                            util::quote(item) + ": " + delay.error());
    delays.push_back(*delay);
  }
  if (delays.empty())
    return tl::unexpected(
        std::string("no attempt: expected delays such as 0s,5s,5m"));
  return RetrySchedule(std::move(delays));
}

std::optional<std::chrono::milliseconds>
RetrySchedule::nominal_delay(std::uint32_t attempts_made) const {
  if (attempts_made >= m_delays.size())
    return std::nullopt;
  return m_delays[attempts_made];
}

std::optional<std::chrono::milliseconds>
RetrySchedule::delay(std::uint32_t attempts_made) {
  const auto nominal = nominal_delay(attempts_made);
  if (!nominal || nominal->count() == 0)
    return nominal;
  std::uniform_real_distribution<double> factor(1 - k_jitter, 1 + k_jitter);
  return std::chrono::milliseconds(static_cast<std::int64_t>(
      static_cast<double>(nominal->count()) * factor(m_random)));
}

std::string RetrySchedule::to_string() const {
  std::string text;
  for (const auto &delay : m_delays) {
    if (!text.empty())
      text += ',';
    text += util::format_duration(delay);
  }
  return text;
}

} // namespace dovewarden::webhook
