#include "webhook/RateLimiter.hpp"

#include <algorithm>
#include <cmath>

namespace dovewarden::webhook {

namespace {

// so that a token wait() promised is there despite rounding
constexpr double k_epsilon = 1e-9;

double capacity(double rate) { return std::max(1.0, rate); }

} // namespace

double RateLimiter::tokens(const std::string &key, double rate,
                           Clock::time_point now) const {
  const auto found = m_buckets.find(key);
  if (found == m_buckets.end())
    return capacity(rate);
  const auto &bucket = found->second;
  const double elapsed =
      std::chrono::duration<double>(now - bucket.updated).count();
  return std::min(capacity(rate),
                  bucket.tokens + std::max(0.0, elapsed) * rate);
}

bool RateLimiter::try_acquire(const std::string &key, double rate,
                              Clock::time_point now) {
  if (rate <= 0)
    return true;
  const double available = tokens(key, rate, now);
  if (available < 1.0 - k_epsilon)
    return false;
  m_buckets[key] = Bucket{std::max(0.0, available - 1.0), now};
  return true;
}

RateLimiter::Clock::duration RateLimiter::wait(const std::string &key,
                                               double rate,
                                               Clock::time_point now) const {
  if (rate <= 0)
    return Clock::duration::zero();
  const double missing = 1.0 - tokens(key, rate, now);
  if (missing <= k_epsilon)
    return Clock::duration::zero();
  return std::chrono::ceil<Clock::duration>(
      std::chrono::duration<double>(missing / rate));
}

} // namespace dovewarden::webhook
