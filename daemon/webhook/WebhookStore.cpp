#include "webhook/WebhookStore.hpp"

#include <algorithm>

namespace dovewarden::webhook {

WebhookStore::Result<void> WebhookStore::ping() {
  const std::lock_guard lock(m_mutex);
  return m_health.watch(do_ping());
}

bool WebhookStore::check() {
  return m_health.check([this]() -> Result<void> {
    const std::lock_guard lock(m_mutex);
    return do_probe();
  });
}

WebhookStore::Result<void> WebhookStore::do_probe() { return do_ping(); }

WebhookStore::Result<bool> WebhookStore::put_endpoint(const Endpoint &endpoint,
                                                      bool replace) {
  if (endpoint.id.empty())
    return db::invalid("put_endpoint: empty endpoint id");
  const std::lock_guard lock(m_mutex);
  return m_health.watch(do_put_endpoint(endpoint, replace));
}

WebhookStore::Result<std::optional<Endpoint>>
WebhookStore::endpoint(const std::string &id) {
  const std::lock_guard lock(m_mutex);
  return m_health.watch(do_endpoint(id));
}

WebhookStore::Result<std::vector<Endpoint>> WebhookStore::endpoints() {
  const std::lock_guard lock(m_mutex);
  return m_health.watch(do_endpoints());
}

WebhookStore::Result<bool>
WebhookStore::remove_endpoint(const std::string &id) {
  const std::lock_guard lock(m_mutex);
  return m_health.watch(do_remove_endpoint(id));
}

WebhookStore::Result<std::uint64_t> WebhookStore::endpoints_version() {
  const std::lock_guard lock(m_mutex);
  return m_health.watch(do_endpoints_version());
}

WebhookStore::Result<void>
WebhookStore::enqueue(const std::vector<Delivery> &deliveries) {
  if (deliveries.empty())
    return {};
  if (std::any_of(deliveries.begin(), deliveries.end(),
                  [](const Delivery &delivery) { return delivery.id.empty(); }))
    return db::invalid("enqueue: empty delivery id");
  const std::lock_guard lock(m_mutex);
  return m_health.watch(do_enqueue(deliveries));
}

WebhookStore::Result<std::vector<Delivery>>
WebhookStore::claim(const std::string &owner, TimePoint now,
                    std::chrono::milliseconds lease, std::size_t max,
                    std::size_t per_endpoint) {
  if (owner.empty())
    return db::invalid("claim: empty owner");
  const std::lock_guard lock(m_mutex);
  return m_health.watch(do_claim(owner, now, lease, max, per_endpoint));
}

WebhookStore::Result<bool> WebhookStore::finish(const Delivery &delivery,
                                                const std::string &owner,
                                                const Attempt &attempt,
                                                const Outcome &outcome) {
  const std::lock_guard lock(m_mutex);
  return m_health.watch(do_finish(delivery, owner, attempt, outcome));
}

WebhookStore::Result<std::vector<bool>>
WebhookStore::finish_all(const std::vector<Finish> &finishes) {
  if (finishes.empty())
    return std::vector<bool>{};
  const std::lock_guard lock(m_mutex);
  return m_health.watch(do_finish_all(finishes));
}

WebhookStore::Result<std::vector<bool>>
WebhookStore::do_finish_all(const std::vector<Finish> &finishes) {
  std::vector<bool> held;
  held.reserve(finishes.size());
  for (const auto &one : finishes) {
    auto finished =
        do_finish(one.delivery, one.owner, one.attempt, one.outcome);
    if (!finished)
      return tl::unexpected(finished.error());
    held.push_back(*finished);
  }
  return held;
}

WebhookStore::Result<std::size_t>
WebhookStore::release_owner(const std::string &owner) {
  if (owner.empty())
    return 0; // nobody holds a lease without an owner
  const std::lock_guard lock(m_mutex);
  return m_health.watch(do_release_owner(owner));
}

WebhookStore::Result<std::vector<DeliveryRecord>>
WebhookStore::deliveries(const std::string &endpoint_id, std::size_t limit) {
  if (limit == 0)
    return std::vector<DeliveryRecord>{};
  const std::lock_guard lock(m_mutex);
  return m_health.watch(do_deliveries(endpoint_id, limit));
}

WebhookStore::Result<std::optional<DeliveryRecord>>
WebhookStore::delivery(const std::string &id) {
  const std::lock_guard lock(m_mutex);
  return m_health.watch(do_delivery(id));
}

WebhookStore::Result<bool> WebhookStore::redeliver(const std::string &id,
                                                   TimePoint now) {
  const std::lock_guard lock(m_mutex);
  return m_health.watch(do_redeliver(id, now));
}

WebhookStore::Result<std::size_t>
WebhookStore::recover(const std::string &endpoint_id, TimePoint since,
                      TimePoint until, TimePoint now) {
  const std::lock_guard lock(m_mutex);
  return m_health.watch(do_recover(endpoint_id, since, until, now));
}

WebhookStore::Result<std::uint64_t> WebhookStore::pending() {
  const std::lock_guard lock(m_mutex);
  return m_health.watch(do_pending());
}

WebhookStore::Result<std::size_t> WebhookStore::prune(TimePoint before) {
  std::size_t pruned = 0;
  for (;;) {
    const std::lock_guard lock(m_mutex);
    const auto step = m_health.watch(do_prune(before, k_prune_step));
    if (!step)
      return tl::unexpected(step.error());
    pruned += *step;
    if (*step < k_prune_step)
      return pruned;
  }
}

} // namespace dovewarden::webhook
