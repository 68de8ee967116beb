#include "db/RedisConnection.hpp"

#include <sys/time.h>

#include <cstdlib>
#include <iterator>

namespace dovewarden::db {

namespace {

timeval to_timeval(std::chrono::milliseconds duration) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(duration.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>(duration.count() % 1000 * 1000);
  return tv;
}

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

} // namespace

Result<void> RedisConnection::validate(const Options &options) {
  if (options.host.empty())
    return invalid("redis: empty host");
  if (options.port <= 0 || options.port > 65535)
    return invalid("redis: invalid port " + std::to_string(options.port));
  if (options.ns.empty())
    return invalid("redis: empty namespace");
  if (options.timeout.count() <= 0)
    return invalid("redis: the timeout must be positive");
  return {};
}

RedisConnection::RedisConnection(Options options)
    : m_options(std::move(options)),
      m_description("redis " + m_options.host + ":" +
                    std::to_string(m_options.port) + " namespace " +
                    m_options.ns) {}

RedisConnection::~RedisConnection() = default;

RedisConnection::ScriptId RedisConnection::add_script(std::string body) {
  m_scripts.push_back(Script{std::move(body), {}});
  return m_scripts.size() - 1;
}

Result<void> RedisConnection::ensure_connected() {
  if (m_context)
    return {};
  m_refused = false;
  const timeval timeout = to_timeval(m_options.timeout);
  Context context(
      redisConnectWithTimeout(m_options.host.c_str(), m_options.port, timeout),
      redisFree);
  if (!context)
    return unavailable(m_description + ": cannot allocate a connection");
  if (context->err != 0)
    return unavailable(m_description + ": connect failed: " + context->errstr);
  if (redisSetTimeout(context.get(), timeout) != REDIS_OK ||
      redisEnableKeepAlive(context.get()) != REDIS_OK)
    return unavailable(m_description +
                       ": cannot set up the connection: " + context->errstr);
  m_context = std::move(context);

  std::vector<std::vector<std::string>> handshake;
  if (!m_options.password.empty())
    handshake.push_back({"AUTH", m_options.password});
  for (const Script &script : m_scripts)
    handshake.push_back({"SCRIPT", "LOAD", script.body});
  auto replies = pipeline(handshake);
  if (!replies)
    return tl::unexpected(replies.error());
  for (std::size_t i = 0; i < replies->size(); i++) {
    const redisReply *reply = (*replies)[i].get();
    if (is_error(reply)) {
      m_refused = true;
      m_context.reset();
      const bool auth = !m_options.password.empty();
      // the reply never contains the password
      return tl::unexpected(
          StoreFailure{auth && i == 0 ? StoreFailure::Kind::invalid
                                      : kind_of_reply(text(reply)),
                       m_description + ": " + (auth ? "AUTH" : "SCRIPT LOAD") +
                           " failed: " + text(reply)});
    }
  }
  const std::size_t first = m_options.password.empty() ? 0 : 1;
  for (std::size_t i = 0; i < m_scripts.size(); i++)
    m_scripts[i].sha = text((*replies)[first + i].get());
  return {};
}

StoreFailure RedisConnection::connection_error(const char *what) {
  StoreFailure failure{StoreFailure::Kind::unavailable,
                       m_description + ": " + what + " failed: " +
                           (m_context ? m_context->errstr : "not connected")};
  m_context.reset();
  return failure;
}

StoreFailure RedisConnection::reply_error(const std::string &what,
                                          const redisReply *reply) const {
  return StoreFailure{kind_of_reply(text(reply)),
                      m_description + ": " + what + ": " + text(reply)};
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
  if (reply->type == REDIS_REPLY_STRING || reply->type == REDIS_REPLY_STATUS ||
      reply->type == REDIS_REPLY_ERROR)
    return std::string(reply->str, reply->len);
  if (reply->type == REDIS_REPLY_INTEGER)
    return std::to_string(reply->integer);
  return {};
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
