#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace dovewarden::webhook {

using Clock = std::chrono::system_clock;
using TimePoint = Clock::time_point; // the epoch (TimePoint{}) means "never"

// A signing secret as given or generated: "whsec_" + base64 of the key. The
// first secret of an endpoint is the current one; older ones keep signing
// until they expire (rotation grace period).
struct Secret {
  std::string value;
  TimePoint expires; // the epoch: does not expire
};

// A registered receiver of events.
struct Endpoint {
  std::string id; // "ep_" + 22 base62 characters (util::random_id)
  std::string url;
  std::vector<std::string> event_types; // type globs, e.g. "message.*"
  std::string filter; // Dovecot event-filter syntax, "" passes everything
  std::string description;
  std::chrono::milliseconds timeout{15000};
  double rate_limit = 0;                   // requests per second, 0: unlimited
  unsigned concurrency = 4;                // requests in flight at most
  unsigned batch_max = 1;                  // events per request; 1: no batching
  std::chrono::milliseconds batch_wait{0}; // how long a batch may wait to fill
  bool enabled = true;
  std::string disabled_reason; // why it was disabled, "" if by hand
  std::vector<Secret> secrets; // never empty once stored
  TimePoint created;
  TimePoint updated;
  TimePoint failing_since; // first failed attempt since the last success
};

// Returns the longest timeout of endpoints, 0 if there are none.
inline std::chrono::milliseconds
longest_timeout(const std::vector<Endpoint> &endpoints) {
  std::chrono::milliseconds longest{0};
  for (const auto &endpoint : endpoints)
    longest = std::max(longest, endpoint.timeout);
  return longest;
}

} // namespace dovewarden::webhook
