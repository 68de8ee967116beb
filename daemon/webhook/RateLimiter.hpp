#pragma once

#include <chrono>
#include <string>
#include <unordered_map>

namespace dovewarden::webhook {

// A token bucket per key (an endpoint's id): rate tokens a second, holding
// at most max(1, rate), full at first; a rate of 0 is unlimited. The clock
// is the caller's. Not thread-safe.
class RateLimiter {
public:
  using Clock = std::chrono::steady_clock;

  // Takes a token of key's bucket at now. Returns true if there was one,
  // otherwise false (and takes nothing).
  bool try_acquire(const std::string &key, double rate, Clock::time_point now);
  // Returns how long after now a token of key's bucket will be there (0 if
  // one is now).
  Clock::duration wait(const std::string &key, double rate,
                       Clock::time_point now) const;
  // Forgets key's bucket (the endpoint is gone).
  void forget(const std::string &key) { m_buckets.erase(key); }

private:
  struct Bucket {
    double tokens = 0;
    Clock::time_point updated;
  };

  // Returns the tokens key's bucket holds at now.
  double tokens(const std::string &key, double rate,
                Clock::time_point now) const;

  std::unordered_map<std::string, Bucket> m_buckets;
};

} // namespace dovewarden::webhook
