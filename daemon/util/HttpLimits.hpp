#pragma once

#include "util/SettingValues.hpp"

#include <chrono>
#include <cstddef>
#include <vector>

namespace dovewarden::util {

// What one HTTP listener grants a client, so that slow or many clients
// cannot starve the others. Timeouts are deadlines, not inactivity timers:
// a byte every few seconds does not keep a request open.
struct HttpLimits {
  // from the connection's first request, or the next request's first byte,
  // until its head (request line and header fields) is read
  std::chrono::milliseconds head_timeout{10 * 1000};
  // from the end of the head until the whole body is read
  std::chrono::milliseconds body_timeout{60 * 1000};
  // how long a keep-alive connection may wait for its next request
  std::chrono::milliseconds idle_timeout{30 * 1000};
  // for writing an answer to a client that does not read it
  std::chrono::milliseconds write_timeout{30 * 1000};
  unsigned max_requests = 1000; // on one keep-alive connection
  // open at once; when full, the longest idle keep-alive connection is
  // closed for a new one, and without one the new one is refused
  unsigned max_connections = 512;
  std::size_t max_header = std::size_t{16} * 1024; // request line and fields
  std::size_t max_body = std::size_t{1024} * 1024;
  unsigned threads = 2; // that run the handlers, off the I/O thread

  // The DOVEWARDEN_LISTENER_* settings, shared by every listener.
  static const std::vector<Setting> &settings();
  // Reads them; throws ConfigError naming a setting with a bad value.
  static HttpLimits from(const SettingValues &values);
};

} // namespace dovewarden::util
