#include "store/RedisStore.hpp"

#include "util/Glob.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <iterator>

namespace dovewarden::store {

namespace {

// KEYS: queue, backoff, leases, users, failed; ARGV[1]: the user key prefix.
// The queue's score is (3 - priority) * 2^42 + requested ms, exact in a
// double until the year 2109. Numbers become strings through string.format
// only: Lua's own conversion keeps 14 digits. A user's "slot" says which
// sorted set holds it: q(ueue), b(ackoff), l(eases) or none.
constexpr const char *k_prelude = R"(
local queue, backoff, leases, all, failed = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local prefix = ARGV[1]
local span = 4398046511104
local function score(priority, requested)
  return string.format('%.0f', (3 - tonumber(priority)) * span + tonumber(requested))
end
local function place(user, key, now)
  local v = redis.call('HMGET', key, 'priority', 'requested', 'next_attempt')
  if tonumber(v[3] or '0') > now then
    redis.call('ZADD', backoff, v[3], user)
    redis.call('HSET', key, 'slot', 'b')
  else
    redis.call('ZADD', queue, score(v[1] or '0', v[2] or '0'), user)
    redis.call('HSET', key, 'slot', 'q')
  end
end
local function holds(key, owner)
  return owner ~= '' and redis.call('HGET', key, 'owner') == owner
end
)";

// ARGV[2..]: user, priority, requested, full, unless_synced_since ('' if
// none). Most requests find their user queued with nothing to change: they
// cost one call. The generation only matters while a claim is out, so it
// advances only for a leased user; queue and set additions go in bulk.
constexpr const char *k_enqueue = R"(
local scored, added = {}, {}
local function flush()
  if #scored > 0 then redis.call('ZADD', queue, unpack(scored)) end
  if #added > 0 then redis.call('SADD', all, unpack(added)) end
  scored, added = {}, {}
end
for i = 2, #ARGV, 5 do
  local user, priority, requested, full, unless = ARGV[i], ARGV[i+1], ARGV[i+2], ARGV[i+3], ARGV[i+4]
  local key = prefix .. user
  local v = redis.call('HMGET', key, 'queued', 'priority', 'requested', 'full', 'slot', 'last_success')
  local last = tonumber(v[6] or '0')
  if unless == '' or last == 0 or last < tonumber(unless) then
    if v[1] == '1' then
      if tonumber(v[2]) > tonumber(priority) then priority = v[2] end
      if tonumber(v[3]) < tonumber(requested) then requested = v[3] end
      if v[4] == '1' then full = '1' end
      if priority ~= v[2] or requested ~= v[3] or full ~= v[4] then
        redis.call('HSET', key, 'priority', priority, 'requested', requested, 'full', full)
        if v[5] == 'q' then
          scored[#scored + 1] = score(priority, requested)
          scored[#scored + 1] = user
        end
      end
      if v[5] == 'l' then redis.call('HINCRBY', key, 'gen', 1) end
      -- sync priority is an operator's "now": it cuts a backoff short
      if v[5] == 'b' and ARGV[i+1] == '3' then
        redis.call('ZREM', backoff, user)
        redis.call('HSET', key, 'next_attempt', '0', 'slot', 'q')
        scored[#scored + 1] = score(priority, requested)
        scored[#scored + 1] = user
      end
    else
      redis.call('HSET', key, 'queued', '1', 'priority', priority, 'requested', requested,
                 'full', full, 'slot', 'q')
      scored[#scored + 1] = score(priority, requested)
      scored[#scored + 1] = user
      if not v[1] then added[#added + 1] = user end
    end
    if #scored >= 1000 or #added >= 1000 then flush() end
  end
end
flush()
return 1
)";

// ARGV: prefix, owner, now, lease until
constexpr const char *k_claim = R"(
local now = tonumber(ARGV[3])
for _, user in ipairs(redis.call('ZRANGEBYSCORE', leases, '-inf', ARGV[3], 'LIMIT', 0, 1000)) do
  local key = prefix .. user
  redis.call('ZREM', leases, user)
  redis.call('HSET', key, 'owner', '', 'lease_until', '0')
  place(user, key, now)
end
for _, user in ipairs(redis.call('ZRANGEBYSCORE', backoff, '-inf', ARGV[3], 'LIMIT', 0, 1000)) do
  redis.call('ZREM', backoff, user)
  place(user, prefix .. user, now)
end
local top = redis.call('ZRANGE', queue, 0, 0)
if #top == 0 then return false end
local user = top[1]
local key = prefix .. user
redis.call('ZREM', queue, user)
redis.call('ZADD', leases, ARGV[4], user)
redis.call('HSET', key, 'owner', ARGV[2], 'lease_until', ARGV[4], 'slot', 'l')
local v = redis.call('HMGET', key, 'priority', 'full', 'state', 'last_full', 'failures', 'gen')
return {user, v[1] or '0', v[2] or '0', v[3] or '', v[4] or '0', v[5] or '0', v[6] or '0'}
)";

// ARGV: prefix, user, owner, lease until
constexpr const char *k_renew = R"(
local key = prefix .. ARGV[2]
if not holds(key, ARGV[3]) then return 0 end
redis.call('HSET', key, 'lease_until', ARGV[4])
redis.call('ZADD', leases, ARGV[4], ARGV[2])
return 1
)";

// ARGV: prefix, user, owner, state, was full, now, generation at claim
constexpr const char *k_succeed = R"(
local user = ARGV[2]
local key = prefix .. user
if not holds(key, ARGV[3]) then return 0 end
redis.call('ZREM', leases, user)
local last = 'last_fast'
if ARGV[5] == '1' then last = 'last_full' end
redis.call('HSET', key, 'state', ARGV[4], last, ARGV[6], 'last_success', ARGV[6],
           'failed', '0', 'failures', '0', 'next_attempt', '0', 'error', '',
           'owner', '', 'lease_until', '0')
redis.call('SREM', failed, user)
if (redis.call('HGET', key, 'gen') or '0') == ARGV[7] then
  redis.call('HSET', key, 'queued', '0', 'priority', '0', 'requested', '0', 'full', '0', 'slot', '')
else
  -- a full sync answers every full request, also those made while it ran
  if ARGV[5] == '1' then redis.call('HSET', key, 'full', '0') end
  place(user, key, tonumber(ARGV[6]))
end
return 1
)";

// ARGV: prefix, user, owner, error, retry at, now
constexpr const char *k_fail = R"(
local user = ARGV[2]
local key = prefix .. user
if not holds(key, ARGV[3]) then return 0 end
redis.call('ZREM', leases, user)
redis.call('HINCRBY', key, 'failures', 1)
redis.call('HSET', key, 'failed', '1', 'error', ARGV[4], 'next_attempt', ARGV[5],
           'owner', '', 'lease_until', '0', 'queued', '1')
redis.call('SADD', failed, user)
place(user, key, tonumber(ARGV[6]))
return 1
)";

// ARGV: prefix, user, owner
constexpr const char *k_release = R"(
local user = ARGV[2]
local key = prefix .. user
if not holds(key, ARGV[3]) then return 0 end
redis.call('ZREM', leases, user)
redis.call('HSET', key, 'owner', '', 'lease_until', '0')
place(user, key, math.huge)
return 1
)";

// ARGV: prefix, user
constexpr const char *k_remove = R"(
local user = ARGV[2]
local key = prefix .. user
if redis.call('EXISTS', key) == 0 then return 0 end
redis.call('ZREM', queue, user)
redis.call('ZREM', backoff, user)
redis.call('ZREM', leases, user)
redis.call('SREM', all, user)
redis.call('SREM', failed, user)
redis.call('DEL', key)
return 1
)";

// ARGV: prefix
constexpr const char *k_lease_owners = R"(
local seen, owners = {}, {}
for _, user in ipairs(redis.call('ZRANGE', leases, 0, -1)) do
  local owner = redis.call('HGET', prefix .. user, 'owner')
  if owner and owner ~= '' and not seen[owner] then
    seen[owner] = true
    owners[#owners + 1] = owner
  end
end
return owners
)";

// ARGV: prefix, owner
constexpr const char *k_release_owner = R"(
local n = 0
for _, user in ipairs(redis.call('ZRANGE', leases, 0, -1)) do
  local key = prefix .. user
  if holds(key, ARGV[2]) then
    redis.call('ZREM', leases, user)
    redis.call('HSET', key, 'owner', '', 'lease_until', '0')
    place(user, key, math.huge)
    n = n + 1
  end
end
return n
)";

// ARGV: prefix, now
constexpr const char *k_status = R"(
local counts = {}
for p = 0, 3 do
  local low = (3 - p) * span
  counts[p + 1] = redis.call('ZCOUNT', queue, string.format('%.0f', low),
                             '(' .. string.format('%.0f', low + span))
end
for _, set in ipairs({backoff, leases}) do
  for _, user in ipairs(redis.call('ZRANGE', set, 0, -1)) do
    local p = tonumber(redis.call('HGET', prefix .. user, 'priority') or '0')
    if p < 0 or p > 3 then p = 0 end
    counts[p + 1] = counts[p + 1] + 1
  end
end
local after = '(' .. ARGV[2]
return {counts[1], counts[2], counts[3], counts[4],
        redis.call('ZCOUNT', backoff, after, '+inf'),
        redis.call('ZCOUNT', leases, after, '+inf'),
        redis.call('SCARD', failed), redis.call('SCARD', all)}
)";

constexpr const char *k_record_fields[] = {
    "queued",    "priority",     "requested",  "full",     "last_fast",
    "last_full", "last_success", "failed",     "failures", "next_attempt",
    "error",     "owner",        "lease_until"};

using Connection = db::RedisConnection;
constexpr auto &number = Connection::number;
constexpr auto &text = Connection::text;
constexpr auto &time_of = Connection::time_of;
constexpr auto &to_ms = Connection::to_ms;

} // namespace

RedisStore::Result<std::unique_ptr<RedisStore>>
RedisStore::connect(Options options) {
  return db::RedisConnection::open<RedisStore>(std::move(options));
}

RedisStore::RedisStore(Options options)
    : m_connection(std::move(options)),
      m_user_prefix(m_connection.options().ns + ":u:") {
  for (const char *name : {"queue", "backoff", "leases", "users", "failed"})
    m_keys.push_back(m_connection.options().ns + ":" + name);
  const std::pair<ScriptId *, const char *> scripts[] = {
      {&m_enqueue, k_enqueue},
      {&m_claim, k_claim},
      {&m_renew, k_renew},
      {&m_succeed, k_succeed},
      {&m_fail, k_fail},
      {&m_release, k_release},
      {&m_remove, k_remove},
      {&m_lease_owners, k_lease_owners},
      {&m_release_owner, k_release_owner},
      {&m_status, k_status},
  };
  for (const auto &[script, body] : scripts)
    *script = m_connection.add_script(std::string(k_prelude) + body);
}

RedisStore::~RedisStore() = default;

RedisStore::Result<RedisStore::Reply>
RedisStore::run(ScriptId script, std::vector<std::string> arguments) {
  arguments.insert(arguments.begin(), m_user_prefix);
  return m_connection.run(script, m_keys, std::move(arguments));
}

std::string RedisStore::describe() const { return m_connection.description(); }

RedisStore::Result<void> RedisStore::do_ping() {
  auto reply = m_connection.command({"PING"});
  if (!reply)
    return tl::unexpected(reply.error());
  return {};
}

RedisStore::Result<void> RedisStore::do_probe() {
  return m_connection.write_probe(m_connection.options().ns + ":probe");
}

RedisStore::Result<void>
RedisStore::do_enqueue(const std::vector<SyncRequest> &requests) {
  std::vector<std::string> arguments;
  arguments.reserve(requests.size() * 5);
  for (const auto &request : requests) {
    arguments.push_back(request.user);
    arguments.push_back(std::to_string(static_cast<int>(request.priority)));
    arguments.push_back(to_ms(request.requested));
    arguments.push_back(request.full ? "1" : "0");
    arguments.push_back(request.unless_synced_since
                            ? to_ms(*request.unless_synced_since)
                            : std::string());
  }
  // one script for the whole batch: one round trip, and all or nothing
  auto reply = run(m_enqueue, std::move(arguments));
  if (!reply)
    return tl::unexpected(reply.error());
  return {};
}

RedisStore::Result<std::optional<Claim>>
RedisStore::do_claim(const std::string &owner, TimePoint now,
                     std::chrono::milliseconds lease) {
  auto reply = run(m_claim, {owner, to_ms(now), to_ms(now + lease)});
  if (!reply)
    return tl::unexpected(reply.error());
  const redisReply *r = reply->get();
  if (r->type == REDIS_REPLY_NIL)
    return std::nullopt;
  if (r->type != REDIS_REPLY_ARRAY || r->elements != 7)
    return db::corrupt(m_connection.description() +
                       ": claim: unexpected reply");
  Claim claim;
  claim.user = text(r->element[0]);
  claim.priority = priority_of(number(r->element[1]));
  claim.full = number(r->element[2]) != 0;
  claim.dsync_state = text(r->element[3]);
  claim.last_full_sync = time_of(r->element[4]);
  claim.failures = static_cast<int>(number(r->element[5]));
  claim.generation = static_cast<std::uint64_t>(number(r->element[6]));
  return claim;
}

RedisStore::Result<bool> RedisStore::do_renew(const Claim &claim,
                                              const std::string &owner,
                                              TimePoint now,
                                              std::chrono::milliseconds lease) {
  auto reply = run(m_renew, {claim.user, owner, to_ms(now + lease)});
  if (!reply)
    return tl::unexpected(reply.error());
  return number(reply->get()) == 1;
}

RedisStore::Result<void> RedisStore::do_succeed(const Claim &claim,
                                                const std::string &owner,
                                                const std::string &new_state,
                                                bool was_full, TimePoint now) {
  auto reply =
      run(m_succeed, {claim.user, owner, new_state, was_full ? "1" : "0",
                      to_ms(now), std::to_string(claim.generation)});
  if (!reply)
    return tl::unexpected(reply.error());
  return {};
}

RedisStore::Result<void> RedisStore::do_fail(const Claim &claim,
                                             const std::string &owner,
                                             const std::string &error,
                                             TimePoint now,
                                             TimePoint retry_at) {
  auto reply =
      run(m_fail, {claim.user, owner, error, to_ms(retry_at), to_ms(now)});
  if (!reply)
    return tl::unexpected(reply.error());
  return {};
}

RedisStore::Result<void> RedisStore::do_release(const Claim &claim,
                                                const std::string &owner) {
  auto reply = run(m_release, {claim.user, owner});
  if (!reply)
    return tl::unexpected(reply.error());
  return {};
}

RedisStore::Result<bool> RedisStore::do_remove(const std::string &user) {
  auto reply = run(m_remove, {user});
  if (!reply)
    return tl::unexpected(reply.error());
  return number(reply->get()) == 1;
}

RedisStore::Result<std::vector<std::string>> RedisStore::do_lease_owners() {
  auto reply = run(m_lease_owners, {});
  if (!reply)
    return tl::unexpected(reply.error());
  std::vector<std::string> owners;
  const redisReply *r = reply->get();
  for (std::size_t i = 0; r->type == REDIS_REPLY_ARRAY && i < r->elements; i++)
    owners.push_back(text(r->element[i]));
  std::sort(owners.begin(), owners.end());
  return owners;
}

RedisStore::Result<std::size_t>
RedisStore::do_release_owner(const std::string &owner) {
  auto reply = run(m_release_owner, {owner});
  if (!reply)
    return tl::unexpected(reply.error());
  return static_cast<std::size_t>(number(reply->get()));
}

RedisStore::Result<std::vector<UserRecord>>
RedisStore::do_users(std::string_view mask) {
  auto members = m_connection.command({"SMEMBERS", m_keys[3]});
  if (!members)
    return tl::unexpected(members.error());
  std::vector<std::string> names;
  const redisReply *r = members->get();
  for (std::size_t i = 0; r->type == REDIS_REPLY_ARRAY && i < r->elements;
       i++) {
    std::string name = text(r->element[i]);
    if (util::glob_match(mask, name))
      names.push_back(std::move(name));
  }
  std::sort(names.begin(), names.end());

  std::vector<std::vector<std::string>> commands;
  commands.reserve(names.size());
  for (const auto &name : names) {
    std::vector<std::string> hmget{"HMGET", m_user_prefix + name};
    hmget.insert(hmget.end(), std::begin(k_record_fields),
                 std::end(k_record_fields));
    commands.push_back(std::move(hmget));
  }
  auto replies = m_connection.pipeline(commands);
  if (!replies)
    return tl::unexpected(replies.error());

  std::vector<UserRecord> records;
  for (std::size_t i = 0; i < names.size(); i++) {
    const redisReply *fields = (*replies)[i].get();
    if (fields->type != REDIS_REPLY_ARRAY ||
        fields->elements != std::size(k_record_fields))
      return db::corrupt(m_connection.description() +
                         ": users: unexpected reply");
    if (fields->element[0]->type == REDIS_REPLY_NIL)
      continue; // removed meanwhile
    const auto field = [fields](std::size_t n) { return fields->element[n]; };
    UserRecord record;
    record.user = names[i];
    record.queued = number(field(0)) != 0;
    record.priority = priority_of(number(field(1)));
    record.requested = time_of(field(2));
    record.full_requested = number(field(3)) != 0;
    record.last_fast_sync = time_of(field(4));
    record.last_full_sync = time_of(field(5));
    record.last_success = time_of(field(6));
    record.failed = number(field(7)) != 0;
    record.failures = static_cast<int>(number(field(8)));
    record.next_attempt = time_of(field(9));
    record.last_error = text(field(10));
    record.owner = text(field(11));
    record.lease_until = time_of(field(12));
    records.push_back(std::move(record));
  }
  return records;
}

RedisStore::Result<QueueStatus> RedisStore::do_status(TimePoint now) {
  auto reply = run(m_status, {to_ms(now)});
  if (!reply)
    return tl::unexpected(reply.error());
  const redisReply *r = reply->get();
  if (r->type != REDIS_REPLY_ARRAY || r->elements != 8)
    return db::corrupt(m_connection.description() +
                       ": status: unexpected reply");
  const auto count = [r](std::size_t n) {
    return static_cast<std::uint64_t>(number(r->element[n]));
  };
  QueueStatus status;
  for (std::size_t p = 0; p < status.queued.size(); p++)
    status.queued[p] = count(p);
  status.waiting = count(4);
  status.running = count(5);
  status.failed = count(6);
  status.users = count(7);
  return status;
}

} // namespace dovewarden::store
