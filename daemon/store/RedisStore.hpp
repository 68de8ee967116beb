#pragma once

#include "db/RedisConnection.hpp"
#include "store/ReplicationStore.hpp"

#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace dovewarden::store {

// The shared store: a Redis server that several daemons use at once. Every
// change of the queue is one Lua script, so it is atomic across daemons. One
// connection, one call at a time, opened again on the call after it broke.
//
// Keys, under the namespace: <ns>:u:<user> (hash per user), <ns>:queue (due
// users, by priority then request time), <ns>:backoff (by next attempt),
// <ns>:leases (by lease end), <ns>:users and <ns>:failed (sets).
class RedisStore final : public ReplicationStore {
public:
  using Options = db::RedisConnection::Options;

  // Returns a store for options, connected if the server answers (if it does
  // not, the calls fail until it does). Returns a failure (invalid) if the
  // options are invalid or the server refuses the password.
  static Result<std::unique_ptr<RedisStore>> connect(Options options);

  RedisStore(const RedisStore &) = delete;
  RedisStore &operator=(const RedisStore &) = delete;
  ~RedisStore() override;

  std::string describe() const override;

private:
  friend class db::RedisConnection;

  using Reply = db::RedisConnection::Reply;
  using ScriptId = db::RedisConnection::ScriptId;

  explicit RedisStore(Options options);

  Result<void> do_ping() override;
  Result<void> do_probe() override;
  Result<void> do_enqueue(const std::vector<SyncRequest> &requests) override;
  Result<std::optional<Claim>>
  do_claim(const std::string &owner, TimePoint now,
           std::chrono::milliseconds lease) override;
  Result<bool> do_renew(const Claim &claim, const std::string &owner,
                        TimePoint now,
                        std::chrono::milliseconds lease) override;
  Result<void> do_succeed(const Claim &claim, const std::string &owner,
                          const std::string &new_state, bool was_full,
                          TimePoint now) override;
  Result<void> do_fail(const Claim &claim, const std::string &owner,
                       const std::string &error, TimePoint now,
                       TimePoint retry_at) override;
  Result<void> do_release(const Claim &claim,
                          const std::string &owner) override;
  Result<bool> do_remove(const std::string &user) override;
  Result<std::vector<std::string>> do_lease_owners() override;
  Result<std::size_t> do_release_owner(const std::string &owner) override;
  Result<std::vector<UserRecord>> do_users(std::string_view mask) override;
  Result<QueueStatus> do_status(TimePoint now) override;

  // Runs script with the queue's keys and the user key prefix before
  // arguments. Returns its reply, or a failure.
  Result<Reply> run(ScriptId script, std::vector<std::string> arguments);

  db::RedisConnection m_connection;
  std::vector<std::string> m_keys; // the queue's keys, KEYS of every script
  std::string m_user_prefix;
  ScriptId m_enqueue;
  ScriptId m_claim;
  ScriptId m_renew;
  ScriptId m_succeed;
  ScriptId m_fail;
  ScriptId m_release;
  ScriptId m_remove;
  ScriptId m_lease_owners;
  ScriptId m_release_owner;
  ScriptId m_status;
};

} // namespace dovewarden::store
