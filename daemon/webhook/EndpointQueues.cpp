#include "webhook/EndpointQueues.hpp"

#include "util/Logger.hpp"

#include <algorithm>
#include <utility>

namespace dovewarden::webhook {

namespace {

unsigned concurrency(const Endpoint &endpoint) {
  return std::max(1u, endpoint.concurrency);
}

// Returns true if held, started at now, would end before its lease does.
bool lease_left(const Held &held, const Endpoint &endpoint,
                std::chrono::steady_clock::time_point now) {
  return now + endpoint.timeout + EndpointQueues::k_lease_slack <
         held.lease_end;
}

} // namespace

EndpointQueues::EndpointQueues(std::size_t max_in_flight, PutBack put_back)
    : m_max_in_flight(max_in_flight), m_put_back(std::move(put_back)) {}

void EndpointQueues::take(std::uint64_t version,
                          std::vector<Endpoint> endpoints) {
  m_longest_timeout = webhook::longest_timeout(endpoints);
  m_endpoints.clear();
  for (auto &endpoint : endpoints)
    m_endpoints.emplace(endpoint.id, std::move(endpoint));
  for (auto it = m_queues.begin(); it != m_queues.end();) {
    const auto found = m_endpoints.find(it->first);
    if (found == m_endpoints.end() || !found->second.enabled)
      put_back(it->second);
    if (it->second.held.empty() && it->second.in_flight == 0) {
      m_limiter.forget(it->first);
      it = m_queues.erase(it);
    } else {
      ++it;
    }
  }
  m_version = version;
}

bool EndpointQueues::knows(const std::string &endpoint_id) const {
  return m_endpoints.count(endpoint_id) > 0;
}

std::unordered_set<std::string> EndpointQueues::ids() const {
  std::unordered_set<std::string> ids;
  for (const auto &[id, endpoint] : m_endpoints)
    ids.insert(id);
  return ids;
}

bool EndpointQueues::hold(Held held) {
  const auto &delivery = held.delivery;
  const auto found = m_endpoints.find(delivery.endpoint_id);
  if (found == m_endpoints.end()) {
    LOG_DEBUG("webhook: delivery ", delivery.id, " for unknown endpoint ",
              delivery.endpoint_id, " left alone");
    return false;
  }
  if (!found->second.enabled) {
    LOG_DEBUG("webhook: delivery ", delivery.id, " waits for endpoint ",
              delivery.endpoint_id, " to be enabled");
    return false;
  }
  auto &queue = m_queues[delivery.endpoint_id];
  if (queue.held.size() >= held_limit(found->second)) {
    LOG_DEBUG("webhook: endpoint ", delivery.endpoint_id, " busy, delivery ",
              delivery.id, " put back");
    return false;
  }
  queue.held.push_back(std::move(held));
  return true;
}

EndpointQueues::Steady::duration
EndpointQueues::start_ready(Steady::time_point now, const Start &start) {
  auto wait = Steady::duration::max();
  for (auto &[id, queue] : m_queues) {
    const auto found = m_endpoints.find(id);
    if (found != m_endpoints.end())
      wait = std::min(wait, start_queue(found->second, queue, now, start));
  }
  return wait;
}

EndpointQueues::Steady::duration
EndpointQueues::start_queue(const Endpoint &endpoint, Queue &queue,
                            Steady::time_point now, const Start &start) {
  while (!queue.held.empty() && queue.in_flight < concurrency(endpoint) &&
         m_in_flight < m_max_in_flight) {
    auto &next = queue.held.front();
    if (!lease_left(next, endpoint, now)) {
      LOG_DEBUG("webhook: delivery ", next.delivery.id,
                " waited too long for its endpoint, put back");
      const auto claim = next.claim;
      queue.held.pop_front();
      m_put_back(claim);
      continue;
    }
    if (!m_limiter.try_acquire(endpoint.id, endpoint.rate_limit, now))
      return m_limiter.wait(endpoint.id, endpoint.rate_limit, now);
    auto held = std::move(next);
    queue.held.pop_front();
    queue.in_flight++;
    m_in_flight++;
    start(endpoint, std::move(held));
  }
  return Steady::duration::max();
}

void EndpointQueues::ended(const std::string &endpoint_id) {
  const auto queue = m_queues.find(endpoint_id);
  if (queue != m_queues.end() && queue->second.in_flight > 0)
    queue->second.in_flight--;
  if (m_in_flight > 0)
    m_in_flight--;
}

void EndpointQueues::disable(const std::string &endpoint_id) {
  const auto cached = m_endpoints.find(endpoint_id);
  if (cached != m_endpoints.end())
    cached->second.enabled = false;
  const auto queue = m_queues.find(endpoint_id);
  if (queue != m_queues.end())
    put_back(queue->second);
}

void EndpointQueues::put_back_all() {
  for (auto &[id, queue] : m_queues)
    put_back(queue);
}

void EndpointQueues::put_back(Queue &queue) {
  while (!queue.held.empty()) {
    const auto claim = queue.held.front().claim;
    queue.held.pop_front();
    m_put_back(claim);
  }
}

EndpointQueues::ClaimSize EndpointQueues::claim_size(std::size_t batch) const {
  // The stores know nothing of endpoints being disabled or full: with
  // others about, a claim must ask for more than one endpoint's share, so
  // that deliveries put back do not fill every claim. With a single
  // endpoint it asks for no more than that one may hold, so that the store
  // does not look for more than it can give.
  std::size_t per_endpoint = 1;
  std::size_t room = 0;
  for (const auto &[id, endpoint] : m_endpoints) {
    const auto queue = m_queues.find(id);
    const std::size_t held =
        queue == m_queues.end() ? 0 : queue->second.held.size();
    const std::size_t limit = held_limit(endpoint);
    if (endpoint.enabled && held < limit) {
      per_endpoint = std::max(per_endpoint, limit - held);
      room += limit - held;
    }
  }
  const std::size_t busy = held_count() + m_in_flight;
  ClaimSize size;
  size.max = std::min(busy < window() ? window() - busy : 0, batch);
  if (m_endpoints.size() <= 1)
    size.max = std::min(size.max, room);
  size.per_endpoint = std::min(per_endpoint, size.max);
  return size;
}

bool EndpointQueues::full() const {
  return held_count() + m_in_flight >= window();
}

std::size_t EndpointQueues::enabled() const {
  return static_cast<std::size_t>(
      std::count_if(m_endpoints.begin(), m_endpoints.end(),
                    [](const auto &entry) { return entry.second.enabled; }));
}

std::size_t EndpointQueues::held_count() const {
  std::size_t count = 0;
  for (const auto &[id, queue] : m_queues)
    count += queue.held.size();
  return count;
}

std::size_t EndpointQueues::held_limit(const Endpoint &endpoint) {
  return k_rounds_held * concurrency(endpoint);
}

std::size_t EndpointQueues::window() const {
  // up to k_rounds_held rounds held ready beside the one in flight, so that
  // a claim overlaps the requests
  return (1 + k_rounds_held) * m_max_in_flight;
}

} // namespace dovewarden::webhook
