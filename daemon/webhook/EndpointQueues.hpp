#pragma once

#include "webhook/Endpoint.hpp"
#include "webhook/RateLimiter.hpp"
#include "webhook/WebhookStore.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace dovewarden::webhook {

// A delivery claimed and waiting for its endpoint.
struct Held {
  Delivery delivery;
  std::uint64_t claim = 0; // the claim that leased it (ClaimLeases)
  std::chrono::steady_clock::time_point lease_end;
};

// The endpoints as the deliverer last read them, each with a queue of the
// deliveries claimed for it. Decides which delivery starts next: none while
// its endpoint has as many in flight as its concurrency or its rate limit
// allows, nor while max_in_flight are out in all, so that a busy or slow
// endpoint does not hold up the others. Not thread-safe.
class EndpointQueues {
public:
  using Steady = std::chrono::steady_clock;
  // Called with the claim of each held delivery given up on (its endpoint
  // went or was disabled, or it waited too long to end within its lease).
  using PutBack = std::function<void(std::uint64_t claim)>;
  using Start = std::function<void(const Endpoint &endpoint, Held held)>;

  // an endpoint's deliveries are held this many rounds (of its concurrency)
  // ahead, so that claims keep up while requests are out
  static constexpr std::size_t k_rounds_held = 2;
  // a delivery is only started if it ends (its endpoint's timeout) this
  // long before its lease
  static constexpr std::chrono::milliseconds k_lease_slack{5000};

  // How many deliveries a claim asks for.
  struct ClaimSize {
    std::size_t max = 0;
    std::size_t per_endpoint = 0; // of them for one endpoint
  };

  EndpointQueues(std::size_t max_in_flight, PutBack put_back);

  // Takes the endpoints read at version. Puts back what is held for one
  // that is gone or disabled.
  void take(std::uint64_t version, std::vector<Endpoint> endpoints);
  // Returns the version of the endpoints taken, nothing before the first.
  std::optional<std::uint64_t> version() const { return m_version; }
  bool knows(const std::string &endpoint_id) const;
  // Returns the ids of the endpoints taken.
  std::unordered_set<std::string> ids() const;
  // Holds held until its endpoint may start it. Returns false (held is not
  // kept) if the endpoint is unknown or disabled, or holds all it may.
  bool hold(Held held);
  // Starts what the limits allow at now, through start. Returns how long
  // until a rate limit lets a held delivery start (max if none waits so).
  Steady::duration start_ready(Steady::time_point now, const Start &start);
  // A delivery started for endpoint_id ended.
  void ended(const std::string &endpoint_id);
  // Marks the endpoint disabled and puts back what it holds.
  void disable(const std::string &endpoint_id);
  // Puts back everything held.
  void put_back_all();

  // Returns how many deliveries to claim, at most batch: up to k_rounds_held
  // rounds of max_in_flight held beside the one in flight, no endpoint
  // taking more than it may hold.
  ClaimSize claim_size(std::size_t batch) const;
  // Returns true if as many deliveries are held and in flight as may be.
  bool full() const;
  // Returns the longest timeout of the endpoints, 0 if there are none.
  std::chrono::milliseconds longest_timeout() const {
    return m_longest_timeout;
  }
  std::size_t in_flight() const { return m_in_flight; }
  // Returns how many of the endpoints are enabled.
  std::size_t enabled() const;
  std::size_t size() const { return m_endpoints.size(); }

private:
  struct Queue {
    std::deque<Held> held;
    std::size_t in_flight = 0;
  };

  // Starts what endpoint's queue may start. Returns how long until its rate
  // limit lets the next start (max if it does not hold one up).
  Steady::duration start_queue(const Endpoint &endpoint, Queue &queue,
                               Steady::time_point now, const Start &start);
  void put_back(Queue &queue);
  std::size_t held_count() const;
  // Returns how many deliveries endpoint may have claimed and waiting.
  static std::size_t held_limit(const Endpoint &endpoint);
  std::size_t window() const;

  std::size_t m_max_in_flight;
  PutBack m_put_back;
  std::unordered_map<std::string, Endpoint> m_endpoints;
  std::optional<std::uint64_t> m_version;
  std::chrono::milliseconds m_longest_timeout{0};
  std::unordered_map<std::string, Queue> m_queues;
  RateLimiter m_limiter;
  std::size_t m_in_flight = 0;
};

} // namespace dovewarden::webhook
