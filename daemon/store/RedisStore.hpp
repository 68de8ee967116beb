#pragma once

#include "store/ReplicationStore.hpp"

#include <tl/expected.hpp>

#include <hiredis/hiredis.h>

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace dovewarden::store {

// The shared store: a Redis server that several daemons use at once. Every
// change of the queue is one Lua script, so it is atomic across daemons. One
// connection, guarded by a mutex, opened again on the call after it broke.
//
// Keys, under the namespace: <ns>:u:<user> (hash per user), <ns>:queue (due
// users, by priority then request time), <ns>:backoff (by next attempt),
// <ns>:leases (by lease end), <ns>:users and <ns>:failed (sets).
class RedisStore final : public ReplicationStore {
public:
  struct Options {
    std::string host = "127.0.0.1";
    int port = 6379;
    std::string password;
    std::string ns = "dovewarden";
    std::chrono::milliseconds timeout{2000};
  };

  // Returns a store for options, connected if the server answers (if it does
  // not, the calls fail until it does). Returns an error text if the options
  // are invalid or the server refuses the password.
  static tl::expected<std::unique_ptr<RedisStore>, std::string>
  connect(Options options);

  RedisStore(const RedisStore &) = delete;
  RedisStore &operator=(const RedisStore &) = delete;
  ~RedisStore() override;

  std::string describe() const override;
  Result<void> ping() override;
  Result<void> enqueue(const std::vector<SyncRequest> &requests) override;
  Result<std::optional<Claim>> claim(const std::string &owner, TimePoint now,
                                     std::chrono::milliseconds lease) override;
  Result<bool> renew(const Claim &claim, const std::string &owner,
                     TimePoint now, std::chrono::milliseconds lease) override;
  Result<void> succeed(const Claim &claim, const std::string &owner,
                       const std::string &new_state, bool was_full,
                       TimePoint now) override;
  Result<void> fail(const Claim &claim, const std::string &owner,
                    const std::string &error, TimePoint now,
                    TimePoint retry_at) override;
  Result<void> release(const Claim &claim, const std::string &owner) override;
  Result<bool> remove(const std::string &user) override;
  Result<std::vector<std::string>> lease_owners() override;
  Result<std::size_t> release_owner(const std::string &owner) override;
  Result<std::vector<UserRecord>> users(std::string_view mask) override;
  Result<QueueStatus> status(TimePoint now) override;

private:
  using Context = std::unique_ptr<redisContext, decltype(&redisFree)>;
  using Reply = std::unique_ptr<redisReply, decltype(&freeReplyObject)>;
  struct Script {
    std::string body;
    std::string sha; // as the server knows it, once loaded
  };

  explicit RedisStore(Options options);

  // Connects if not connected. Returns an error text if that fails.
  Result<void> ensure_connected();
  // Queues one command for sending. Returns an error text if that fails.
  Result<void> send(const std::vector<std::string> &arguments);
  // Returns the next reply (an error reply too), or an error text if the
  // connection failed.
  Result<Reply> receive();
  // Sends commands in one round trip. Returns their replies (error replies
  // included), or an error text if the connection failed.
  Result<std::vector<Reply>>
  pipeline(const std::vector<std::vector<std::string>> &commands);
  // Returns the reply to one command, or an error text if it failed or
  // answered with an error.
  Result<Reply> command(const std::vector<std::string> &arguments);
  // Runs script with the queue's keys and arguments (EVALSHA, EVAL if the
  // server lost the script). Returns its reply, or an error text.
  Result<Reply> run(Script &script, std::vector<std::string> arguments);
  // Drops the connection, so that the next call opens a new one. Returns the
  // error text for what failed.
  Error connection_error(const char *what);

  Options m_options;
  std::string m_description;
  std::vector<std::string> m_keys; // the queue's keys, KEYS of every script
  std::string m_user_prefix;
  std::mutex m_mutex;
  Context m_context{nullptr, redisFree};
  bool m_refused = false; // the server answered the handshake with an error
  Script m_enqueue;
  Script m_claim;
  Script m_renew;
  Script m_succeed;
  Script m_fail;
  Script m_release;
  Script m_remove;
  Script m_lease_owners;
  Script m_release_owner;
  Script m_status;
};

} // namespace dovewarden::store
