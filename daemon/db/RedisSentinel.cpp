#include "db/RedisSentinel.hpp"

#include "db/RedisContext.hpp"
#include "util/Strings.hpp"

namespace dovewarden::db {

Result<void> RedisSentinel::validate(const Options &options) {
  if (options.sentinels.empty())
    return {};
  if (options.master.empty())
    return invalid("redis sentinel: empty master name");
  for (const auto &sentinel : options.sentinels) {
    if (sentinel.host.empty() || sentinel.port == 0)
      return invalid("redis sentinel: invalid address " +
                     util::quote(sentinel.to_string()));
  }
  return {};
}

RedisSentinel::RedisSentinel(Options options, std::chrono::milliseconds timeout)
    : m_options(std::move(options)), m_timeout(timeout) {}

std::size_t RedisSentinel::in_turn(std::size_t turn) const {
  return (m_first + turn) % size();
}

std::string RedisSentinel::name(std::size_t sentinel) const {
  return "sentinel " + m_options.sentinels.at(sentinel).to_string();
}

Result<std::optional<util::ListenAddress>>
RedisSentinel::ask(std::size_t sentinel) const {
  const auto &address = m_options.sentinels.at(sentinel);
  const std::string who = name(sentinel);
  auto context = connect_redis(address.host, address.port, m_timeout);
  if (!context)
    return unavailable(who + ": " + context.error());
  if (!m_options.password.empty()) {
    auto reply = redis_call(**context, {"AUTH", m_options.password});
    if (!reply)
      return unavailable(who + ": " + reply.error());
    // the reply never contains the password
    if ((*reply)->type == REDIS_REPLY_ERROR)
      return invalid(who + ": AUTH failed: " + redis_text(**reply));
  }
  auto reply = redis_call(
      **context, {"SENTINEL", "get-master-addr-by-name", m_options.master});
  if (!reply)
    return unavailable(who + ": " + reply.error());
  const redisReply &answer = **reply;
  if (answer.type == REDIS_REPLY_NIL)
    return std::nullopt;
  if (answer.type == REDIS_REPLY_ERROR) {
    const std::string error = redis_text(answer);
    // a sentinel with a password answers NOAUTH to a client without one
    if (error.rfind("NOAUTH", 0) == 0 || error.rfind("WRONGPASS", 0) == 0)
      return invalid(who + ": " + error);
    return unavailable(who + ": " + error);
  }
  if (answer.type != REDIS_REPLY_ARRAY || answer.elements != 2)
    return unavailable(who + ": unexpected answer to get-master-addr-by-name");
  const std::string host = redis_text(*answer.element[0]);
  const auto port = util::parse_unsigned(redis_text(*answer.element[1]), 65535);
  if (host.empty() || !port || *port == 0)
    return unavailable(who + ": unexpected answer to get-master-addr-by-name");
  return util::ListenAddress{host, static_cast<std::uint16_t>(*port)};
}

} // namespace dovewarden::db
