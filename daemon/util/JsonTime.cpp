#include "util/JsonTime.hpp"

#include "util/Time.hpp"

namespace dovewarden::util {

nlohmann::json unix_time(std::chrono::system_clock::time_point time) {
  if (time == std::chrono::system_clock::time_point{})
    return nullptr;
  return unix_seconds(time);
}

} // namespace dovewarden::util
