#pragma once

#include "db/StoreFailure.hpp"
#include "util/ListenAddress.hpp"

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

namespace dovewarden::db {

// The Redis Sentinels that watch a store's master and name it after a
// failover: hiredis has no Sentinel support. Each question is a connection
// of its own. Not thread-safe, like the RedisConnection that asks.
class RedisSentinel {
public:
  struct Options {
    std::vector<util::ListenAddress> sentinels; // none: no Sentinel
    std::string master = "mymaster"; // the name the sentinels know it by
    std::string password;            // the sentinels' own, if they have one
  };

  // Returns a failure (invalid) if options name sentinels but are invalid.
  static Result<void> validate(const Options &options);

  RedisSentinel(Options options, std::chrono::milliseconds timeout);

  std::size_t size() const { return m_options.sentinels.size(); }
  const std::string &master() const { return m_options.master; }
  // Returns the index of the sentinel to ask turn-th (0 first): the one that
  // last answered first, then the others in the configured order.
  std::size_t in_turn(std::size_t turn) const;
  // Makes sentinel the first to ask from now on.
  void prefer(std::size_t sentinel) { m_first = sentinel; }
  // "sentinel HOST:PORT", for errors and logs.
  std::string name(std::size_t sentinel) const;

  // Asks a sentinel where the master is. Returns its address, or nothing if
  // that sentinel does not watch a master of that name. Returns a failure:
  // unavailable if the sentinel cannot be reached or answers late, invalid
  // if it refuses the password. Failures never contain the password.
  Result<std::optional<util::ListenAddress>> ask(std::size_t sentinel) const;

private:
  Options m_options;
  std::chrono::milliseconds m_timeout;
  std::size_t m_first = 0;
};

} // namespace dovewarden::db
