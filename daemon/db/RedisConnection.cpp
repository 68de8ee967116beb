#include "db/RedisConnection.hpp"

#include "util/DependencyBackoff.hpp"
#include "util/Strings.hpp"

#include <cstdlib>
#include <iterator>

namespace dovewarden::db {

namespace {

constexpr std::chrono::milliseconds k_first_backoff{100};
constexpr std::chrono::milliseconds k_longest_backoff{1000};
constexpr std::chrono::milliseconds k_master_check_interval{1000};

// a script's own "CONFLICT ..." answer, a key of another type than the
// store keeps there, or the server refusing for now (OOM, BUSY, LOADING,
// READONLY, ...)
StoreFailure::Kind kind_of_reply(const std::string &text) {
  if (text.rfind("CONFLICT ", 0) == 0)
    return StoreFailure::Kind::conflict;
  if (text.find("WRONGTYPE") != std::string::npos)
    return StoreFailure::Kind::corrupt;
  return StoreFailure::Kind::unavailable;
}

// Returns whether an error reply says that the server is not (or no longer)
// a master that takes writes: a replica refuses them, and one that lost its
// master may refuse reads too.
bool says_not_master(const std::string &text) {
  return text.rfind("READONLY", 0) == 0 || text.rfind("MASTERDOWN", 0) == 0;
}

std::string describe(const RedisConnection::Options &options) {
  if (options.sentinel.sentinels.empty())
    return "redis " + options.host + ":" + std::to_string(options.port) +
           " namespace " + options.ns;
  std::string sentinels;
  for (const auto &sentinel : options.sentinel.sentinels)
    sentinels += (sentinels.empty() ? "" : ",") + sentinel.to_string();
  return "redis master " + options.sentinel.master + " of sentinel " +
         sentinels + " namespace " + options.ns;
}

} // namespace

Result<void> RedisConnection::validate(const Options &options) {
  if (options.sentinel.sentinels.empty() && options.host.empty())
    return invalid("redis: empty host");
  if (options.sentinel.sentinels.empty() &&
      (options.port <= 0 || options.port > 65535))
    return invalid("redis: invalid port " + std::to_string(options.port));
  if (options.ns.empty())
    return invalid("redis: empty namespace");
  if (options.timeout.count() <= 0)
    return invalid("redis: the timeout must be positive");
  return RedisSentinel::validate(options.sentinel);
}

RedisConnection::RedisConnection(Options options)
    : m_options(std::move(options)), m_description(describe(m_options)),
      m_server(m_description) {
  if (!m_options.sentinel.sentinels.empty())
    m_sentinel.emplace(m_options.sentinel, m_options.timeout);
}

RedisConnection::~RedisConnection() = default;

RedisConnection::ScriptId RedisConnection::add_script(std::string body) {
  m_scripts.push_back(Script{std::move(body), {}});
  return m_scripts.size() - 1;
}

Result<void> RedisConnection::ensure_connected() {
  if (m_context && m_sentinel)
    check_named_master(*m_sentinel);
  if (m_context)
    return {};
  m_refused = false;
  if (m_sentinel)
    return connect_to_master(*m_sentinel);
  return connect_to(util::ListenAddress{
      m_options.host, static_cast<std::uint16_t>(m_options.port)});
}

Result<void> RedisConnection::connect_to_master(RedisSentinel &sentinels) {
  if (std::chrono::steady_clock::now() < m_search_after)
    return tl::unexpected(m_search_failure);
  auto found = search_master(sentinels);
  if (found) {
    m_failed_searches = 0;
    return {};
  }
  // from the end of the search, which may have waited for timeouts
  m_failed_searches++;
  m_search_after =
      std::chrono::steady_clock::now() +
      util::backoff_wait(k_first_backoff, k_longest_backoff, m_failed_searches);
  m_search_failure = found.error();
  return found;
}

Result<void> RedisConnection::search_master(RedisSentinel &sentinels) {
  std::string answers;
  bool refused = true; // until a sentinel or master fails otherwise
  for (std::size_t turn = 0; turn < sentinels.size(); turn++) {
    const std::size_t sentinel = sentinels.in_turn(turn);
    auto master = sentinels.ask(sentinel);
    std::string answer;
    if (!master) {
      refused = refused && master.error().kind == StoreFailure::Kind::invalid;
      answer = master.error().message;
    } else if (!*master) {
      answer = sentinels.name(sentinel) + ": no master named " +
               util::quote(sentinels.master());
    } else {
      auto connected = connect_to(**master);
      if (connected) {
        sentinels.prefer(sentinel);
        return {};
      }
      if (m_refused) // the master refused the password
        return tl::unexpected(
            StoreFailure{connected.error().kind,
                         m_description + ": " + connected.error().message});
      refused = false;
      answer = sentinels.name(sentinel) + " named " + connected.error().message;
    }
    answers += (answers.empty() ? "" : "; ") + answer;
  }
  m_refused = refused;
  return tl::unexpected(StoreFailure{
      refused ? StoreFailure::Kind::invalid : StoreFailure::Kind::unavailable,
      m_description + ": no master found: " + answers});
}

Result<void> RedisConnection::connect_to(const util::ListenAddress &server) {
  m_server = m_sentinel ? server.to_string() : m_description;
  auto context = connect_redis(server.host, server.port, m_options.timeout);
  if (!context)
    return unavailable(m_server + ": " + context.error());
  m_context = std::move(*context);

  std::vector<std::vector<std::string>> handshake;
  if (!m_options.password.empty())
    handshake.push_back({"AUTH", m_options.password});
  if (m_sentinel)
    handshake.push_back({"ROLE"});
  for (const Script &script : m_scripts)
    handshake.push_back({"SCRIPT", "LOAD", script.body});
  auto replies = pipeline(handshake);
  if (!replies)
    return tl::unexpected(replies.error());
  const bool auth = !m_options.password.empty();
  for (std::size_t i = 0; i < replies->size(); i++) {
    const redisReply *reply = (*replies)[i].get();
    if (is_error(reply)) {
      m_refused = true;
      m_context.reset();
      // the reply never contains the password
      return tl::unexpected(StoreFailure{
          auth && i == 0 ? StoreFailure::Kind::invalid
                         : kind_of_reply(text(reply)),
          m_server + ": " + handshake[i].front() + " failed: " + text(reply)});
    }
  }
  std::size_t first_script = auth ? 1 : 0;
  if (m_sentinel) {
    const redisReply *role = (*replies)[first_script++].get();
    const std::string name =
        role->type == REDIS_REPLY_ARRAY && role->elements > 0
            ? text(role->element[0])
            : std::string();
    if (name != "master") {
      m_context.reset();
      return unavailable(m_server + ": not the master (ROLE " +
                         util::quote(name) + ")");
    }
    m_server = m_description + " at " + server.to_string();
    m_master = server;
    m_master_checked = std::chrono::steady_clock::now();
  }
  for (std::size_t i = 0; i < m_scripts.size(); i++)
    m_scripts[i].sha = text((*replies)[first_script + i].get());
  return {};
}

void RedisConnection::check_named_master(RedisSentinel &sentinels) {
  const auto now = std::chrono::steady_clock::now();
  if (now - m_master_checked < k_master_check_interval)
    return;
  m_master_checked = now;
  const auto named = sentinels.ask(sentinels.in_turn(0));
  if (!named) {
    // the connection stays; the next check asks the next sentinel, so that
    // one that answers late does not slow every check
    sentinels.prefer(sentinels.in_turn(1));
    return;
  }
  if (*named && (*named)->to_string() != m_master.to_string())
    m_context.reset();
}

void RedisConnection::check_master(const redisReply *reply) {
  if (m_sentinel && is_error(reply) && says_not_master(text(reply)))
    m_context.reset();
}

StoreFailure RedisConnection::connection_error(const char *what) {
  StoreFailure failure{StoreFailure::Kind::unavailable,
                       m_server + ": " + what + " failed: " +
                           (m_context ? m_context->errstr : "not connected")};
  m_context.reset();
  return failure;
}

StoreFailure RedisConnection::reply_error(const std::string &what,
                                          const redisReply *reply) const {
  return StoreFailure{kind_of_reply(text(reply)),
                      m_server + ": " + what + ": " + text(reply)};
}

Result<void> RedisConnection::send(const std::vector<std::string> &arguments) {
  std::vector<const char *> argv;
  std::vector<std::size_t> lengths;
  argv.reserve(arguments.size());
  lengths.reserve(arguments.size());
  for (const auto &argument : arguments) {
    argv.push_back(argument.data());
    lengths.push_back(argument.size());
  }
  if (redisAppendCommandArgv(m_context.get(), static_cast<int>(argv.size()),
                             argv.data(), lengths.data()) != REDIS_OK)
    return tl::unexpected(connection_error("send"));
  return {};
}

Result<RedisConnection::Reply> RedisConnection::receive() {
  void *raw = nullptr;
  if (redisGetReply(m_context.get(), &raw) != REDIS_OK || raw == nullptr)
    return tl::unexpected(connection_error("receive"));
  return Reply(static_cast<redisReply *>(raw), freeReplyObject);
}

Result<std::vector<RedisConnection::Reply>> RedisConnection::pipeline(
    const std::vector<std::vector<std::string>> &commands) {
  if (auto connected = ensure_connected(); !connected)
    return tl::unexpected(connected.error());
  for (const auto &arguments : commands) {
    if (auto sent = send(arguments); !sent)
      return tl::unexpected(sent.error());
  }
  std::vector<Reply> replies;
  replies.reserve(commands.size());
  for (std::size_t i = 0; i < commands.size(); i++) {
    auto reply = receive();
    if (!reply)
      return tl::unexpected(reply.error());
    replies.push_back(std::move(*reply));
  }
  for (const auto &reply : replies)
    check_master(reply.get());
  return replies;
}

Result<RedisConnection::Reply>
RedisConnection::command(const std::vector<std::string> &arguments) {
  auto replies = pipeline({arguments});
  if (!replies)
    return tl::unexpected(replies.error());
  Reply reply = std::move(replies->front());
  if (is_error(reply.get()))
    return tl::unexpected(reply_error(arguments.front(), reply.get()));
  return reply;
}

Result<RedisConnection::Reply>
RedisConnection::run(ScriptId script, const std::vector<std::string> &keys,
                     std::vector<std::string> arguments) {
  if (auto connected = ensure_connected(); !connected)
    return tl::unexpected(connected.error());
  std::vector<std::string> call{"EVALSHA", m_scripts.at(script).sha,
                                std::to_string(keys.size())};
  call.reserve(call.size() + keys.size() + arguments.size());
  call.insert(call.end(), keys.begin(), keys.end());
  std::move(arguments.begin(), arguments.end(), std::back_inserter(call));
  auto replies = pipeline({call});
  if (!replies)
    return tl::unexpected(replies.error());
  Reply reply = std::move(replies->front());
  if (is_error(reply.get()) && text(reply.get()).rfind("NOSCRIPT", 0) == 0) {
    // the server restarted or flushed its scripts: EVAL loads it again
    call[0] = "EVAL";
    call[1] = m_scripts[script].body;
    return command(call);
  }
  if (is_error(reply.get()))
    return tl::unexpected(reply_error("script failed", reply.get()));
  return reply;
}

Result<void> RedisConnection::write_probe(const std::string &key) {
  auto reply = command({"SET", key, "1", "PX", "60000"});
  if (!reply)
    return tl::unexpected(reply.error());
  return {};
}

std::int64_t RedisConnection::number(const redisReply *reply) {
  if (reply == nullptr)
    return 0;
  if (reply->type == REDIS_REPLY_INTEGER)
    return reply->integer;
  if (reply->type == REDIS_REPLY_STRING)
    return std::strtoll(reply->str, nullptr, 10);
  return 0;
}

std::string RedisConnection::text(const redisReply *reply) {
  if (reply == nullptr)
    return {};
  if (reply->type == REDIS_REPLY_INTEGER)
    return std::to_string(reply->integer);
  return redis_text(*reply);
}

std::chrono::system_clock::time_point
RedisConnection::time_of(const redisReply *reply) {
  return std::chrono::system_clock::time_point(
      std::chrono::milliseconds(number(reply)));
}

bool RedisConnection::is_error(const redisReply *reply) {
  return reply->type == REDIS_REPLY_ERROR;
}

std::string RedisConnection::to_ms(std::chrono::system_clock::time_point time) {
  return std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(
                            time.time_since_epoch())
                            .count());
}

} // namespace dovewarden::db
