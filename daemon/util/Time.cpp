#include "util/Time.hpp"

#include <ctime>
#include <iomanip>
#include <sstream>

namespace dovewarden::util {

std::string utc_text(std::chrono::system_clock::time_point time) {
  const std::time_t seconds = std::chrono::system_clock::to_time_t(time);
  std::tm fields{};
  ::gmtime_r(&seconds, &fields);
  std::ostringstream out;
  out << std::put_time(&fields, "%Y-%m-%dT%H:%M:%SZ");
  return out.str();
}

nlohmann::json unix_time(std::chrono::system_clock::time_point time) {
  if (time == std::chrono::system_clock::time_point{})
    return nullptr;
  return std::chrono::duration_cast<std::chrono::seconds>(
             time.time_since_epoch())
      .count();
}

} // namespace dovewarden::util
