#pragma once

#include "db/RedisConnection.hpp"
#include "webhook/WebhookStore.hpp"

#include <memory>
#include <string>
#include <vector>

namespace dovewarden::webhook {

// The shared webhook store: a Redis server that several daemons use at once.
// Every change that touches more than one key is one Lua script, so it is
// atomic across daemons. One connection, one call at a time, opened again on
// the call after it broke.
//
// Keys, under <ns>:wh:, "endpoints" (ids by creation time), "version"
// (INCR on every endpoint change), "due" (pending unleased delivery ids by
// next attempt), "leases" (by lease end), "finished" (succeeded or failed
// ids by creation time), and per id: ep:<id> (hash: data, failing_since),
// d:<id> (delivery hash), a:<id> (its last k_attempts_kept attempts, a
// list) and log:<endpoint id> (its delivery ids by creation time).
class RedisWebhookStore final : public WebhookStore {
public:
  using Options = db::RedisConnection::Options;
  static constexpr std::size_t k_attempts_kept = 50;

  // Returns a store for options, connected if the server answers (if it does
  // not, the calls fail until it does). Returns a failure (invalid) if the
  // options are invalid or the server refuses the password.
  static Result<std::unique_ptr<RedisWebhookStore>> connect(Options options);

  RedisWebhookStore(const RedisWebhookStore &) = delete;
  RedisWebhookStore &operator=(const RedisWebhookStore &) = delete;
  ~RedisWebhookStore() override;

private:
  friend class db::RedisConnection;

  using Reply = db::RedisConnection::Reply;
  using ScriptId = db::RedisConnection::ScriptId;

  explicit RedisWebhookStore(Options options);

  Result<void> do_ping() override;
  Result<void> do_probe() override;
  Result<bool> do_put_endpoint(const Endpoint &endpoint, bool replace) override;
  Result<std::optional<Endpoint>> do_endpoint(const std::string &id) override;
  Result<std::vector<Endpoint>> do_endpoints() override;
  Result<bool> do_remove_endpoint(const std::string &id) override;
  Result<std::uint64_t> do_endpoints_version() override;
  Result<void> do_enqueue(const std::vector<Delivery> &deliveries) override;
  Result<std::vector<Delivery>> do_claim(const std::string &owner,
                                         TimePoint now,
                                         std::chrono::milliseconds lease,
                                         std::size_t max,
                                         std::size_t per_endpoint) override;
  Result<bool> do_finish(const Delivery &delivery, const std::string &owner,
                         const Attempt &attempt,
                         const Outcome &outcome) override;
  Result<std::vector<bool>>
  do_finish_all(const std::vector<Finish> &finishes) override;
  Result<std::size_t> do_release_owner(const std::string &owner) override;
  Result<std::vector<DeliveryRecord>>
  do_deliveries(const std::string &endpoint_id, std::size_t limit) override;
  Result<std::optional<DeliveryRecord>>
  do_delivery(const std::string &id) override;
  Result<bool> do_redeliver(const std::string &id, TimePoint now) override;
  Result<std::size_t> do_recover(const std::string &endpoint_id,
                                 TimePoint since, TimePoint until,
                                 TimePoint now) override;
  Result<std::uint64_t> do_pending() override;
  Result<std::size_t> do_prune(TimePoint before, std::size_t at_most) override;

  // Runs script with the store's keys and the key prefix before arguments.
  // Returns its reply, or a failure.
  Result<Reply> run(ScriptId script, std::vector<std::string> arguments);
  // Returns the records of ids, those that still exist, in that order.
  Result<std::vector<DeliveryRecord>>
  records(const std::vector<std::string> &ids);

  db::RedisConnection m_connection;
  std::string m_prefix;
  std::vector<std::string> m_keys; // KEYS of every script
  ScriptId m_put_endpoint;
  ScriptId m_remove_endpoint;
  ScriptId m_enqueue;
  ScriptId m_claim;
  ScriptId m_finish;
  ScriptId m_release_owner;
  ScriptId m_redeliver;
  ScriptId m_recover;
  ScriptId m_pending;
  ScriptId m_prune;
};

} // namespace dovewarden::webhook
