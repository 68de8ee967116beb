#include "util/Time.hpp"

#include <ctime>

namespace dovewarden::util {

std::int64_t unix_seconds(std::chrono::system_clock::time_point time) {
  return std::chrono::duration_cast<std::chrono::seconds>(
             time.time_since_epoch())
      .count();
}

std::string utc_text(std::chrono::system_clock::time_point time) {
  return utc_text(unix_seconds(time));
}

std::string utc_text(std::int64_t unix_seconds) {
  const auto seconds = static_cast<std::time_t>(unix_seconds);
  std::tm fields{};
  char text[32];
  if (::gmtime_r(&seconds, &fields) == nullptr ||
      std::strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%SZ", &fields) == 0)
    return std::to_string(unix_seconds);
  return text;
}

} // namespace dovewarden::util
