#include "util/Time.hpp"

namespace dovewarden::util {

nlohmann::json unix_time(std::chrono::system_clock::time_point time) {
  if (time == std::chrono::system_clock::time_point{})
    return nullptr;
  return std::chrono::duration_cast<std::chrono::seconds>(
             time.time_since_epoch())
      .count();
}

} // namespace dovewarden::util
