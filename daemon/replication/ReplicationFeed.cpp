#include "replication/ReplicationFeed.hpp"

#include "filter/SourceFilter.hpp"
#include "replication/ReplicationMetrics.hpp"
#include "util/Logger.hpp"

#include <stdexcept>
#include <vector>

namespace dovewarden::replication {

namespace {

// the plugin batches for 20 ms; this adds at most half as much again
constexpr std::chrono::milliseconds k_flush_interval{10};

constexpr std::string_view k_events_lost = "events.lost";

store::TimePoint event_time(const core::Event &event) {
  const auto us = event.message.integer("ts", -1);
  if (us <= 0)
    return event.received;
  return store::TimePoint(std::chrono::microseconds(us));
}

} // namespace

void merge_request(store::SyncRequest &into,
                   const store::SyncRequest &request) {
  if (request.priority > into.priority)
    into.priority = request.priority;
  if (request.requested < into.requested)
    into.requested = request.requested;
  into.full = into.full || request.full;
}

ReplicationFeed::ReplicationFeed(Trigger trigger,
                                 store::ReplicationStore &store,
                                 replication::ReplicationMetrics &metrics,
                                 std::function<void()> stored, Publish publish)
    : m_trigger(std::move(trigger)), m_store(store), m_metrics(metrics),
      m_stored(std::move(stored)), m_publish(std::move(publish)) {}

std::chrono::milliseconds ReplicationFeed::flush_interval() const {
  return k_flush_interval;
}

std::optional<store::SyncRequest>
ReplicationFeed::request_for(const core::Event &event) {
  const auto priority = m_trigger.priority(event);
  m_metrics.event(event.source, priority ? &*priority : nullptr);
  if (!priority)
    return std::nullopt;
  store::SyncRequest request{std::string(event.message.str("user")),
                             *priority,
                             event_time(event),
                             false,
                             {}};
  const auto mailbox = event.message.str("mailbox");
  const auto uidvalidity = event.message.integer("uidvalidity", 0);
  if (!mailbox.empty() && uidvalidity > 0) {
    const auto previous = m_uidvalidity.see(
        request.user, mailbox, static_cast<std::uint64_t>(uidvalidity));
    if (previous) {
      request.full = true;
      m_metrics.uidvalidity_changed();
      auto changed = core::Event::internal("mailbox.uidvalidity_changed");
      changed.message.set("user", request.user);
      changed.message.set("mailbox", std::string(mailbox));
      changed.message.set("old_uidvalidity",
                          static_cast<std::int64_t>(*previous));
      changed.message.set("uidvalidity", uidvalidity);
      m_publish(std::move(changed));
    }
  }
  return request;
}

std::unique_ptr<filter::EventFilter> ReplicationFeed::filter() {
  // events.lost comes from the Pipeline, never from the feed itself
  return std::make_unique<filter::SourceFilter>(
      std::vector<std::string>{"daemon", "http"},
      std::vector<std::string>{std::string(k_events_lost)});
}

void ReplicationFeed::handle(const core::Event &event) {
  if (event.type() == k_events_lost) {
    repair_loss(event);
    return;
  }
  auto request = request_for(event);
  if (!request)
    return;
  queue(std::move(*request));
}

void ReplicationFeed::repair_loss(const core::Event &event) {
  // what was lost is unknown, new mail included: as urgent as new mail
  constexpr auto priority = store::Priority::high;
  const auto *users = event.message.find("users");
  const auto *names =
      users != nullptr ? std::get_if<wire::Strings>(users) : nullptr;
  if (names == nullptr || names->empty()) {
    m_metrics.event(event.source, nullptr);
    return;
  }
  for (const auto &user : *names) {
    m_metrics.event(event.source, &priority);
    queue(store::SyncRequest{user, priority, event_time(event), false, {}});
  }
}

void ReplicationFeed::queue(store::SyncRequest request) {
  std::lock_guard lock(m_mutex);
  // most events find their user pending already: no copy of the name then
  if (const auto it = m_pending.find(request.user); it != m_pending.end()) {
    merge_request(it->second, request);
    return;
  }
  auto user = request.user;
  m_pending.emplace(std::move(user), std::move(request));
}

void ReplicationFeed::flush() {
  std::vector<store::SyncRequest> batch;
  {
    std::lock_guard lock(m_mutex);
    if (m_pending.empty())
      return;
    batch.reserve(m_pending.size());
    for (auto &entry : m_pending)
      batch.push_back(std::move(entry.second));
    m_pending.clear();
  }
  const auto stored = m_store.enqueue(batch);
  if (!stored) {
    m_metrics.store_error("enqueue");
    std::lock_guard lock(m_mutex);
    // keep them for the next flush, merged with what came meanwhile
    for (auto &request : batch) {
      const auto [it, added] = m_pending.try_emplace(request.user, request);
      if (!added)
        merge_request(it->second, request);
    }
    throw std::runtime_error("replication store: " + stored.error().message +
                             " (" + std::to_string(m_pending.size()) +
                             " users kept for the next try)");
  }
  m_stored();
}

tl::expected<bool, std::string>
ReplicationFeed::admit(const core::Event &event) {
  auto request = request_for(event);
  if (!request)
    return false;
  const auto stored = m_store.enqueue({*request});
  if (!stored) {
    m_metrics.store_error("enqueue");
    return tl::unexpected(stored.error().message);
  }
  m_stored();
  return true;
}

} // namespace dovewarden::replication
