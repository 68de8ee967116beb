#pragma once

#include "bus/Subscriber.hpp"
#include "filter/EventFilter.hpp"
#include "replication/Trigger.hpp"
#include "replication/UidValidityWatch.hpp"
#include "store/ReplicationStore.hpp"

#include <tl/expected.hpp>

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

namespace dovewarden::replication {

class ReplicationMetrics;

// The bus subscriber that turns events into sync requests: what Trigger
// passes is collapsed per user in memory (highest priority, earliest time)
// and written to the store in one batch per flush, which is what lets the
// store keep up with the plugin. A store that fails keeps the batch for
// the next flush. An events.lost queues the users it names at high
// priority at once, rather than leaving what was lost to the sweep.
class ReplicationFeed : public bus::Subscriber {
public:
  using Publish = std::function<void(core::Event)>;

  ReplicationFeed(Trigger trigger, store::ReplicationStore &store,
                  replication::ReplicationMetrics &metrics,
                  std::function<void()> stored, Publish publish);

  // The filter to subscribe with: every event but the daemon's own (the
  // feed publishes some) and those of POST /events, which admit() stored
  // already, so that one the feed does not act on counts as filtered out;
  // and events.lost.
  static std::unique_ptr<filter::EventFilter> filter();

  std::string name() const override { return "replication"; }
  void handle(const core::Event &event) override;
  std::chrono::milliseconds flush_interval() const override;
  // A request that waits for the timer waits to be replicated.
  bool flush_when_idle() const override { return true; }
  // Writes the batch. Throws std::runtime_error if the store failed; the
  // batch is kept.
  void flush() override;

  // Stores the request event makes at once, for sources that answer only
  // once it is stored (POST /events). Returns true if the user was queued,
  // false if the event does not trigger replication, or an error text if
  // the store failed.
  tl::expected<bool, std::string> admit(const core::Event &event);

private:
  std::optional<store::SyncRequest> request_for(const core::Event &event);
  // Queues the users an events.lost names (loss-driven repair).
  void repair_loss(const core::Event &event);
  // Adds request to the batch, merged with the user's request there.
  void queue(store::SyncRequest request);

  Trigger m_trigger;
  store::ReplicationStore &m_store;
  replication::ReplicationMetrics &m_metrics;
  std::function<void()> m_stored;
  Publish m_publish;
  UidValidityWatch m_uidvalidity;
  std::mutex m_mutex;
  std::unordered_map<std::string, store::SyncRequest> m_pending;
};

// Merges request into into: the highest priority, the earliest time, full
// if either is.
void merge_request(store::SyncRequest &into, const store::SyncRequest &request);

} // namespace dovewarden::replication
