#include "webhook/Outbox.hpp"

#include "util/Logger.hpp"
#include "util/Time.hpp"

#include <algorithm>
#include <set>
#include <unordered_set>

namespace dovewarden::webhook {

Outbox::Outbox(WebhookStore &store, Options options)
    : m_store(store), m_options(options) {}

Outbox::Claimed Outbox::claim(const ClaimRequest &request) {
  Claimed claimed;
  if (request.look)
    read_endpoints(request.known_version, claimed, "");
  auto lease = request.lease;
  if (claimed.endpoints) // long enough for the endpoints as they are now
    lease = std::max(lease,
                     lease_for(longest_timeout(claimed.endpoints->endpoints)));
  claimed.lease_end = Steady::now() + lease;
  claimed.deliveries = m_store.claim(request.owner, Clock::now(), lease,
                                     request.max, request.per_endpoint);
  if (!claimed.deliveries || claimed.deliveries->empty())
    return claimed;
  if (take_endpoints_changed())
    catch_up(request, claimed);
  else if (finds_unknown(request, claimed))
    learn(request, claimed);
  return claimed;
}

// A change told of while the claim was out (after the loop took the flag,
// or after the version was read above) may be older than a delivery the
// claim found: the admin API stores a rotated secret, tells, answers, and
// then `webhook test` enqueues. Such a delivery must not be signed with the
// endpoints from before the change, so they are read again before it is
// handed out. endpoints_changed() comes after the change is stored and the
// delivery is enqueued after that, so a claim that found the delivery sees
// the flag set.
void Outbox::catch_up(const ClaimRequest &request, Claimed &claimed) {
  const std::string put_back = "; " +
                               std::to_string(claimed.deliveries->size()) +
                               " deliveries put back";
  if (read_endpoints(known_after(request, claimed), claimed, put_back))
    return;
  // not sent with what may be stale: given back, claimed again once the
  // endpoints can be read
  const auto released = m_store.release_owner(request.owner);
  if (!released && m_warnings.allow())
    LOG_WARN("webhook: cannot give back leases: ", released.error());
  claimed.deliveries->clear();
  m_endpoints_changed = true; // looked at again by the next claim
}

bool Outbox::finds_unknown(const ClaimRequest &request,
                           const Claimed &claimed) {
  std::unordered_set<std::string> read;
  if (claimed.endpoints) {
    for (const auto &endpoint : claimed.endpoints->endpoints)
      read.insert(endpoint.id);
  }
  const auto &known = claimed.endpoints ? read : request.known_ids;
  return std::any_of(claimed.deliveries->begin(), claimed.deliveries->end(),
                     [&known](const Delivery &delivery) {
                       return known.count(delivery.endpoint_id) == 0;
                     });
}

// An endpoint added since the caller read the endpoints (by another daemon
// sharing the store, or not told yet) is learnt of with its first delivery.
// A delivery whose endpoint is gone stays unknown: the caller gives it back.
void Outbox::learn(const ClaimRequest &request, Claimed &claimed) {
  read_endpoints(known_after(request, claimed), claimed, "");
}

std::optional<std::uint64_t> Outbox::known_after(const ClaimRequest &request,
                                                 const Claimed &claimed) {
  return claimed.endpoints ? std::optional(claimed.endpoints->version)
                           : request.known_version;
}

bool Outbox::read_endpoints(std::optional<std::uint64_t> known,
                            Claimed &claimed, std::string_view what_follows) {
  const auto version = m_store.endpoints_version();
  if (known && version && *known == *version)
    return true;
  auto endpoints = version ? m_store.endpoints()
                           : WebhookStore::Result<std::vector<Endpoint>>(
                                 tl::make_unexpected(version.error()));
  if (!endpoints) {
    if (m_warnings.allow())
      LOG_WARN("webhook: cannot read the endpoints: ", endpoints.error(),
               what_follows);
    return false;
  }
  claimed.endpoints = EndpointsRead{*version, std::move(*endpoints)};
  return true;
}

Outbox::Recorded Outbox::record(const std::vector<Judged> &batch) {
  std::vector<Finish> finishes;
  finishes.reserve(batch.size());
  for (const auto &judged : batch)
    finishes.push_back(judged.finish);
  Recorded recorded;
  recorded.finished = m_store.finish_all(finishes);
  recorded.disabled = disabled_by(batch);
  return recorded;
}

// Each endpoint that failed is looked at once per batch.
std::vector<std::pair<Endpoint, std::string>>
Outbox::disabled_by(const std::vector<Judged> &batch) {
  std::vector<std::pair<Endpoint, std::string>> disabled;
  std::set<std::string> seen;
  for (const auto &judged : batch) {
    const auto &id = judged.finish.delivery.endpoint_id;
    std::optional<std::pair<Endpoint, std::string>> turned_off;
    if (judged.action == Verdict::Action::disable) {
      if (auto endpoint = disable(id, "410 Gone"))
        turned_off.emplace(std::move(*endpoint), "410 Gone");
    } else if (judged.action == Verdict::Action::retry &&
               seen.insert(id).second) {
      turned_off = disable_if_failing(id);
    }
    if (turned_off)
      disabled.push_back(std::move(*turned_off));
  }
  return disabled;
}

std::optional<std::pair<Endpoint, std::string>>
Outbox::disable_if_failing(const std::string &endpoint_id) {
  if (m_options.disable_after.count() == 0)
    return std::nullopt;
  auto endpoint = m_store.endpoint(endpoint_id);
  if (!endpoint || !*endpoint || !(*endpoint)->enabled ||
      !failing_too_long(**endpoint, Clock::now(), m_options.disable_after))
    return std::nullopt;
  std::string reason =
      "failing since " + util::utc_text((*endpoint)->failing_since);
  auto turned_off = disable(std::move(**endpoint), reason);
  if (!turned_off)
    return std::nullopt;
  return std::pair(std::move(*turned_off), std::move(reason));
}

std::optional<Endpoint> Outbox::disable(const std::string &endpoint_id,
                                        const std::string &reason) {
  auto stored = m_store.endpoint(endpoint_id);
  if (!stored || !*stored) {
    if (!stored)
      LOG_WARN("webhook: cannot read endpoint ", endpoint_id, ": ",
               stored.error());
    return std::nullopt;
  }
  return disable(std::move(**stored), reason);
}

std::optional<Endpoint> Outbox::disable(Endpoint endpoint,
                                        const std::string &reason) {
  if (!endpoint.enabled)
    return std::nullopt;
  endpoint.enabled = false;
  endpoint.disabled_reason = reason;
  endpoint.updated = Clock::now();
  const auto put = m_store.put_endpoint(endpoint, true);
  if (!put) {
    LOG_WARN("webhook: cannot disable endpoint ", endpoint.id, ": ",
             put.error());
    return std::nullopt;
  }
  return endpoint;
}

void Outbox::check_store() {
  // a store that does not answer at all is not probed: its reads, retried
  // at every poll, say when it is back
  if (m_store.pending())
    m_store.check();
}

void Outbox::release(const std::string &owner) {
  const auto released = m_store.release_owner(owner);
  if (!released)
    LOG_WARN("webhook: cannot give back leases: ", released.error());
}

void Outbox::prune(TimePoint before) {
  const auto pruned = m_store.prune(before);
  if (!pruned)
    LOG_WARN("webhooks: pruning the delivery log failed: ", pruned.error());
  else if (*pruned > 0)
    LOG_DEBUG("webhooks: pruned ", *pruned, " finished deliveries");
}

std::optional<std::uint64_t> Outbox::pending() {
  const auto pending = m_store.pending();
  if (!pending)
    return std::nullopt;
  return *pending;
}

std::chrono::milliseconds
Outbox::lease_for(std::chrono::milliseconds longest) const {
  return longest + m_options.lease_margin;
}

} // namespace dovewarden::webhook
