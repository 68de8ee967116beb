#pragma once

#include "db/StoreFailure.hpp"
#include "util/DependencyBackoff.hpp"

#include <chrono>
#include <functional>
#include <mutex>
#include <string>

namespace dovewarden::db {

// Whether a store can take writes, as the calls through it found: the
// first call that finds it unavailable (a full disk, a lost server) marks
// it down, from any thread. Only a write probe that succeeds marks it up
// again, since a store that answers reads, or small writes, may still
// refuse the writes that matter; probes are tried with the dependency
// backoff. Thread-safe.
class StoreHealth {
public:
  // describe names the store in log lines.
  explicit StoreHealth(std::string describe);

  // Returns result, having noted a failure that says the store is down.
  template <typename T> Result<T> watch(Result<T> result) {
    if (!result)
      saw(result.error());
    return result;
  }
  // Notes a failure: unavailable marks the store down; the other kinds
  // are about one call's data.
  void saw(const StoreFailure &failure);

  // Returns true unless a call found the store unavailable since the last
  // probe that succeeded.
  bool writable() const { return m_backoff.up(); }
  // Returns why the store went down, or "" while it is writable.
  std::string last_failure() const;
  // While down, runs probe (a small write) once the backoff allows. Returns
  // writable().
  bool check(const std::function<Result<void>()> &probe);

private:
  std::string m_describe;
  // a probe is one small write: tried often enough that /readyz follows a
  // freed disk within seconds
  util::DependencyBackoff m_backoff{
      {std::chrono::seconds(1), std::chrono::seconds(10)}};
  mutable std::mutex m_mutex;
  std::string m_last_failure;
};

} // namespace dovewarden::db
