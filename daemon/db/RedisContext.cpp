#include "db/RedisContext.hpp"

#include <sys/time.h>

namespace dovewarden::db {

namespace {

timeval to_timeval(std::chrono::milliseconds duration) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(duration.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>(duration.count() % 1000 * 1000);
  return tv;
}

} // namespace

tl::expected<RedisContext, std::string>
connect_redis(const std::string &host, int port,
              std::chrono::milliseconds timeout) {
  const timeval limit = to_timeval(timeout);
  RedisContext context(redisConnectWithTimeout(host.c_str(), port, limit),
                       redisFree);
  if (!context)
    return tl::unexpected(std::string("cannot allocate a connection"));
  if (context->err != 0)
    return tl::unexpected(std::string("connect failed: ") + context->errstr);
  if (redisSetTimeout(context.get(), limit) != REDIS_OK ||
      redisEnableKeepAlive(context.get()) != REDIS_OK)
    return tl::unexpected(std::string("cannot set up the connection: ") +
                          context->errstr);
  return context;
}

tl::expected<RedisReply, std::string>
redis_call(redisContext &context, const std::vector<std::string> &arguments) {
  std::vector<const char *> argv;
  std::vector<std::size_t> lengths;
  for (const auto &argument : arguments) {
    argv.push_back(argument.data());
    lengths.push_back(argument.size());
  }
  void *raw = redisCommandArgv(&context, static_cast<int>(argv.size()),
                               argv.data(), lengths.data());
  if (raw == nullptr)
    return tl::unexpected(std::string(arguments.front()) +
                          " failed: " + context.errstr);
  return RedisReply(static_cast<redisReply *>(raw), freeReplyObject);
}

std::string redis_text(const redisReply &reply) {
  if (reply.type == REDIS_REPLY_STRING || reply.type == REDIS_REPLY_STATUS ||
      reply.type == REDIS_REPLY_ERROR)
    return std::string(reply.str, reply.len);
  return {};
}

} // namespace dovewarden::db
