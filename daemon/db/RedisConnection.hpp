#pragma once

#include "db/RedisContext.hpp"
#include "db/RedisSentinel.hpp"
#include "db/StoreFailure.hpp"

#include <tl/expected.hpp>

#include <hiredis/hiredis.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace dovewarden::db {

// One connection to a Redis server, with the Lua scripts of a store loaded
// on it: opened on first use and again on the call after it broke. Not
// thread-safe: its store calls it one call at a time. Failures name the
// server and never contain the password; a server that cannot be reached or
// answers late is unavailable.
//
// With sentinels, the server is the master they name, confirmed by its
// ROLE. A broken connection, a READONLY or MASTERDOWN reply (the server was
// made a replica), or a sentinel naming another master (asked at most once a
// second, at a call) makes the call ask the sentinels again; while no master
// is found, calls fail at once for a backoff that doubles from 100 ms up to
// a second, with jitter (util::backoff_wait).
class RedisConnection {
public:
  struct Options {
    std::string host = "127.0.0.1"; // without sentinels
    int port = 6379;                // without sentinels
    std::string password;
    std::string ns = "dovewarden"; // the prefix of the store's keys
    std::chrono::milliseconds timeout{2000};
    RedisSentinel::Options sentinel;
  };
  using Reply = RedisReply;
  using ScriptId = std::size_t;

  // Returns a failure (invalid) if options are invalid.
  static Result<void> validate(const Options &options);
  // Returns a new store of type Store (constructed from options), connected
  // if the server answers: if it does not, its calls fail until it does.
  // Returns a failure if the options are invalid or the server refuses the
  // password (invalid). Store holds a RedisConnection m_connection and names
  // RedisConnection a friend.
  template <typename Store>
  static Result<std::unique_ptr<Store>> open(Options options) {
    if (auto valid = validate(options); !valid)
      return tl::unexpected(valid.error());
    // nobody else has the store yet: no call runs beside this one
    std::unique_ptr<Store> store(new Store(std::move(options)));
    if (auto connected = store->m_connection.ensure_connected();
        !connected && store->m_connection.refused())
      return tl::unexpected(connected.error());
    return store;
  }

  explicit RedisConnection(Options options);
  RedisConnection(const RedisConnection &) = delete;
  RedisConnection &operator=(const RedisConnection &) = delete;
  ~RedisConnection();

  const Options &options() const { return m_options; }
  // "redis HOST:PORT namespace NS" or "redis master NAME of sentinel
  // HOST:PORT,... namespace NS", for errors and logs.
  const std::string &description() const { return m_description; }

  // Registers a script to load on every new connection; call before the
  // first command. Returns its id for run().
  ScriptId add_script(std::string body);
  // Connects if not connected. Returns a failure if that fails; refused()
  // then says whether the server answered the handshake with an error (a
  // wrong password) rather than not answering.
  Result<void> ensure_connected();
  bool refused() const { return m_refused; }
  // Sends commands in one round trip. Returns their replies (error replies
  // included), or a failure if the connection failed.
  Result<std::vector<Reply>>
  pipeline(const std::vector<std::vector<std::string>> &commands);
  // Returns the reply to one command, or a failure if it failed or answered
  // with an error.
  Result<Reply> command(const std::vector<std::string> &arguments);
  // Runs a script with keys and arguments (EVALSHA, EVAL if the server lost
  // the script). Returns its reply, or a failure if it failed: a script
  // answers "CONFLICT ..." for a conflict.
  Result<Reply> run(ScriptId script, const std::vector<std::string> &keys,
                    std::vector<std::string> arguments);
  // Sets key for a minute. Returns a failure if the server takes no write:
  // one out of disk (MISCONF) or memory (OOM) still answers PING and reads.
  Result<void> write_probe(const std::string &key);

  // Reply readers: 0, "" or the epoch for a missing or other reply.
  static std::int64_t number(const redisReply *reply);
  static std::string text(const redisReply *reply);
  static std::chrono::system_clock::time_point time_of(const redisReply *reply);
  static bool is_error(const redisReply *reply);
  // Returns time as ms since the epoch, as the scripts take it.
  static std::string to_ms(std::chrono::system_clock::time_point time);

private:
  using Context = RedisContext;
  struct Script {
    std::string body;
    std::string sha; // as the server knows it, once loaded
  };

  // Connects to server and loads the scripts; with sentinels, confirms
  // that it is the master. Returns a failure if that fails.
  Result<void> connect_to(const util::ListenAddress &server);
  // Connects to the master the sentinels (m_sentinel's) name, asking them
  // in turn, unless the backoff after a failed search lasts. Returns a
  // failure if no master was found.
  Result<void> connect_to_master(RedisSentinel &sentinels);
  // Asks each sentinel in turn for the master and connects to it. Returns
  // a failure naming what each sentinel answered if none led to a master.
  Result<void> search_master(RedisSentinel &sentinels);
  // Drops the connection if the first sentinel names another master than
  // the one connected, unless it was asked less than a second ago: after a
  // failover the old master may take writes, which are lost, until Sentinel
  // makes it a replica.
  void check_named_master(RedisSentinel &sentinels);
  // Drops the connection if a reply says that the server is no longer the
  // master, so that the next call asks the sentinels again.
  void check_master(const redisReply *reply);
  // Queues one command for sending. Returns a failure if that fails.
  Result<void> send(const std::vector<std::string> &arguments);
  // Returns the next reply (an error reply too), or a failure if the
  // connection failed.
  Result<Reply> receive();
  // Drops the connection, so that the next call opens a new one. Returns the
  // failure (unavailable) for what failed.
  StoreFailure connection_error(const char *what);
  // Returns the failure of an error reply to what.
  StoreFailure reply_error(const std::string &what,
                           const redisReply *reply) const;

  Options m_options;
  std::string m_description;
  Context m_context{nullptr, redisFree};
  bool m_refused = false;
  std::vector<Script> m_scripts;
  std::optional<RedisSentinel> m_sentinel; // set if sentinels are configured
  std::string m_server;                    // description, at HOST:PORT
  util::ListenAddress m_master;            // connected to, with sentinels
  std::chrono::steady_clock::time_point m_master_checked{};
  std::chrono::steady_clock::time_point m_search_after{};
  int m_failed_searches = 0; // in a row
  StoreFailure m_search_failure;
};

} // namespace dovewarden::db
