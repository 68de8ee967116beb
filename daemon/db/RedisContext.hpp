#pragma once

#include <tl/expected.hpp>

#include <hiredis/hiredis.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace dovewarden::db {

// A hiredis connection of its own and a reply, freed on destruction.
using RedisContext = std::unique_ptr<redisContext, decltype(&redisFree)>;
using RedisReply = std::unique_ptr<redisReply, decltype(&freeReplyObject)>;

// Connects to host:port with timeout, which then bounds every reply too, and
// TCP keep-alive. Returns the connection, or why it failed.
tl::expected<RedisContext, std::string>
connect_redis(const std::string &host, int port,
              std::chrono::milliseconds timeout);

// Sends one command and waits for its reply. Returns the reply (an error
// reply too), or why the connection failed.
tl::expected<RedisReply, std::string>
redis_call(redisContext &context, const std::vector<std::string> &arguments);

// Returns the text of a string, status or error reply, or "" for another.
std::string redis_text(const redisReply &reply);

} // namespace dovewarden::db
