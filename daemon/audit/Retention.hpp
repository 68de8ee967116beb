#pragma once

#include "audit/AuditStore.hpp"
#include "audit/Sign.hpp"

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <thread>

namespace dovewarden::audit {

class AuditMetrics;

// Removes the records older than the retention, in the background: at
// start, then every interval. The removed prefix is kept as a signed
// checkpoint of its size and last hash, the base the chain is verified
// from.
class Retention {
public:
  struct Options {
    unsigned days = 90;
    std::chrono::milliseconds interval{std::chrono::hours(1)};
    std::size_t step = 10000; // records removed per transaction
  };

  Retention(AuditStore &store, Sign sign, AuditMetrics &metrics,
            Options options);
  Retention(const Retention &) = delete;
  Retention &operator=(const Retention &) = delete;
  ~Retention();

  // Starts the background runs; none if days is 0.
  void start();
  // Ends them, waiting for a run under way. Idempotent.
  void stop();

  // Removes the prefix of records older than days before now (µs; a
  // younger record keeps those behind it). Returns how many records it
  // removed, or the store's failure; counted either way.
  db::Result<std::uint64_t> run(std::int64_t now);

private:
  db::Result<std::uint64_t> remove_before(std::int64_t cutoff,
                                          std::int64_t now);
  void loop();

  AuditStore &m_store;
  Sign m_sign;
  AuditMetrics &m_metrics;
  Options m_options;
  std::mutex m_mutex;
  std::condition_variable m_wake;
  bool m_stopping = false;
  std::thread m_thread;
};

} // namespace dovewarden::audit
