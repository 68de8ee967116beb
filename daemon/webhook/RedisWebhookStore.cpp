#include "webhook/RedisWebhookStore.hpp"

#include "webhook/StoredEndpoint.hpp"

#include <charconv>
#include <iterator>

namespace dovewarden::webhook {

namespace {

using Connection = db::RedisConnection;
constexpr auto &number = Connection::number;
constexpr auto &text = Connection::text;
constexpr auto &time_of = Connection::time_of;
constexpr auto &to_ms = Connection::to_ms;

// how many due deliveries one claim looks at, at most, to fill per_endpoint
constexpr int k_claim_scan = 10000;

// KEYS: endpoints, version, due, leases, finished; ARGV[1]: the key prefix.
// Scores and times stay the strings C++ gave: Lua's own conversion of
// numbers keeps 14 digits only. A delivery's state is a DeliveryState (0
// pending, 1 succeeded, 2 failed).
constexpr const char *k_prelude = R"(
local endpoints, version, due, leases, finished = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local prefix = ARGV[1]
local function ekey(id) return prefix .. 'ep:' .. id end
local function dkey(id) return prefix .. 'd:' .. id end
local function akey(id) return prefix .. 'a:' .. id end
local function lkey(endpoint) return prefix .. 'log:' .. endpoint end
local fields = {'endpoint', 'type', 'events', 'body', 'created', 'state', 'attempts', 'next'}
-- runs command on key with the items of list as arguments, a few hundred
-- at a time (Lua's unpack() has a limit); list is even for pairs
local function in_chunks(command, key, list)
  for i = 1, #list, 400 do
    redis.call(command, key, unpack(list, i, math.min(i + 399, #list)))
  end
end
local function drop(id)
  local endpoint = redis.call('HGET', dkey(id), 'endpoint')
  if endpoint then redis.call('ZREM', lkey(endpoint), id) end
  redis.call('ZREM', due, id)
  redis.call('ZREM', leases, id)
  redis.call('ZREM', finished, id)
  redis.call('DEL', dkey(id), akey(id))
end
)";

// ARGV: prefix, id, data, created, failing_since, replace
constexpr const char *k_put_endpoint = R"(
local key = ekey(ARGV[2])
if ARGV[6] ~= '1' and redis.call('EXISTS', key) == 1 then return 0 end
redis.call('HSET', key, 'data', ARGV[3], 'failing_since', ARGV[5])
redis.call('ZADD', endpoints, ARGV[4], ARGV[2])
redis.call('INCR', version)
return 1
)";

// ARGV: prefix, id
constexpr const char *k_remove_endpoint = R"(
local key = ekey(ARGV[2])
for _, id in ipairs(redis.call('ZRANGE', lkey(ARGV[2]), 0, -1)) do drop(id) end
redis.call('DEL', lkey(ARGV[2]))
if redis.call('EXISTS', key) == 0 then return 0 end
redis.call('DEL', key)
redis.call('ZREM', endpoints, ARGV[2])
redis.call('INCR', version)
return 1
)";

// ARGV: prefix, then per delivery: id, endpoint, type, events, body,
// created, next attempt; all or nothing, so ids are checked first
constexpr const char *k_enqueue = R"(
for i = 2, #ARGV, 7 do
  if redis.call('EXISTS', dkey(ARGV[i])) == 1 then
    return redis.error_reply('CONFLICT delivery ' .. ARGV[i] .. ' exists')
  end
end
for i = 2, #ARGV, 7 do
  local id = ARGV[i]
  redis.call('HSET', dkey(id), 'endpoint', ARGV[i+1], 'type', ARGV[i+2],
             'events', ARGV[i+3], 'body', ARGV[i+4], 'created', ARGV[i+5],
             'state', '0', 'attempts', '0', 'next', ARGV[i+6], 'owner', '', 'lease', '0')
  redis.call('ZADD', due, ARGV[i+6], id)
  redis.call('ZADD', lkey(ARGV[i+1]), ARGV[i+5], id)
end
return 1
)";

// ARGV: prefix, owner, now, lease until, max, per endpoint, scan bound.
// An expired lease goes back to due; its owner stays until another claims
// it, so that a late finish() of the owner still counts.
constexpr const char *k_claim = R"(
for _, id in ipairs(redis.call('ZRANGEBYSCORE', leases, '-inf', ARGV[3], 'LIMIT', 0, 1000)) do
  redis.call('ZREM', leases, id)
  redis.call('ZADD', due, redis.call('HGET', dkey(id), 'next') or '0', id)
end
local max, per, scan = tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])
-- an endpoint's share only matters if it is less than the whole claim
local limited = per ~= 0 and per < max
local chosen, counts, offset = {}, {}, 0
while #chosen < max and offset < scan do
  local batch = redis.call('ZRANGEBYSCORE', due, '-inf', ARGV[3], 'LIMIT', offset,
                           limited and 100 or max - #chosen)
  if #batch == 0 then break end
  offset = offset + #batch
  for _, id in ipairs(batch) do
    local n = 0
    local endpoint
    if limited then
      endpoint = redis.call('HGET', dkey(id), 'endpoint') or ''
      n = counts[endpoint] or 0
    end
    if not limited or n < per then
      if limited then counts[endpoint] = n + 1 end
      chosen[#chosen + 1] = id
      if #chosen >= max then break end
    end
  end
end
local out, leased = {}, {}
for _, id in ipairs(chosen) do
  local key = dkey(id)
  leased[#leased + 1] = ARGV[4]
  leased[#leased + 1] = id
  redis.call('HSET', key, 'owner', ARGV[2], 'lease', ARGV[4])
  out[#out + 1] = id
  local v = redis.call('HMGET', key, unpack(fields))
  for j = 1, #fields do out[#out + 1] = v[j] or '' end
end
in_chunks('ZREM', due, chosen)
in_chunks('ZADD', leases, leased)
return out
)";

// ARGV: prefix, kept, then for each delivery: id, owner, attempt, state,
// retry at, attempt time; returns 1 or 0 for each
constexpr const char *k_finish = R"(
local kept = -tonumber(ARGV[2])
-- each endpoint's failing_since, read once, then as this call leaves it
local failing = {}
local ended, retried, closed = {}, {}, {}
local function finish(id, owner, attempt, state, retry_at, at)
  local key = dkey(id)
  local held = redis.call('HMGET', key, 'endpoint', 'owner', 'created')
  local endpoint = held[1]
  if not endpoint then return 0 end
  redis.call('RPUSH', akey(id), attempt)
  redis.call('LTRIM', akey(id), kept, -1)
  local since = failing[endpoint]
  if since == nil then
    since = redis.call('HGET', ekey(endpoint), 'failing_since') or false
  end
  if since then
    if state == '1' and since ~= '0' then
      since = '0'
      redis.call('HSET', ekey(endpoint), 'failing_since', since)
      redis.call('INCR', version)
    elseif state ~= '1' and since == '0' then
      since = at
      redis.call('HSET', ekey(endpoint), 'failing_since', since)
      redis.call('INCR', version)
    end
  end
  failing[endpoint] = since
  if owner == '' or held[2] ~= owner then return 0 end
  ended[#ended + 1] = id
  redis.call('HINCRBY', key, 'attempts', 1)
  if state == '0' then
    redis.call('HSET', key, 'state', state, 'owner', '', 'lease', '0', 'next', retry_at)
    retried[#retried + 1] = retry_at
    retried[#retried + 1] = id
  else
    redis.call('HSET', key, 'state', state, 'owner', '', 'lease', '0')
    closed[#closed + 1] = held[3]
    closed[#closed + 1] = id
  end
  return 1
end
local out = {}
for i = 3, #ARGV, 6 do
  out[#out + 1] = finish(ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3],
                         ARGV[i + 4], ARGV[i + 5])
end
-- the sorted sets once per call; removals before the retries go back in
in_chunks('ZREM', leases, ended)
in_chunks('ZREM', due, ended)
in_chunks('ZADD', due, retried)
in_chunks('ZADD', finished, closed)
return out
)";

// ARGV: prefix, owner
constexpr const char *k_release_owner = R"(
if ARGV[2] == '' then return 0 end
local n = 0
for _, id in ipairs(redis.call('ZRANGE', leases, 0, -1)) do
  local key = dkey(id)
  if redis.call('HGET', key, 'owner') == ARGV[2] then
    redis.call('ZREM', leases, id)
    redis.call('HSET', key, 'owner', '', 'lease', '0')
    redis.call('ZADD', due, redis.call('HGET', key, 'next'), id)
    n = n + 1
  end
end
return n
)";

// ARGV: prefix, id, now; a leased one waits for its holder
constexpr const char *k_redeliver = R"(
local id = ARGV[2]
local key = dkey(id)
if redis.call('EXISTS', key) == 0 then return 0 end
redis.call('HSET', key, 'state', '0', 'attempts', '0', 'next', ARGV[3])
redis.call('ZREM', finished, id)
if not redis.call('ZSCORE', leases, id) then redis.call('ZADD', due, ARGV[3], id) end
return 1
)";

// ARGV: prefix, endpoint, since, until, now
constexpr const char *k_recover = R"(
local n = 0
for _, id in ipairs(redis.call('ZRANGEBYSCORE', lkey(ARGV[2]), ARGV[3], '(' .. ARGV[4])) do
  local key = dkey(id)
  if redis.call('HGET', key, 'state') == '2' then
    redis.call('HSET', key, 'state', '0', 'attempts', '0', 'next', ARGV[5])
    redis.call('ZREM', finished, id)
    redis.call('ZADD', due, ARGV[5], id)
    n = n + 1
  end
end
return n
)";

// ARGV: prefix
constexpr const char *k_pending = R"(
return redis.call('ZCARD', due) + redis.call('ZCARD', leases)
)";

// ARGV: prefix, before, at most
constexpr const char *k_prune = R"(
local ids = redis.call('ZRANGEBYSCORE', finished, '-inf', '(' .. ARGV[2], 'LIMIT', 0, tonumber(ARGV[3]))
for _, id in ipairs(ids) do drop(id) end
return #ids
)";

// the fields of k_prelude's fields, after the id
constexpr std::size_t k_delivery_fields = 8;
const char *const k_field_names[k_delivery_fields] = {
    "endpoint", "type",  "events",   "body",
    "created",  "state", "attempts", "next"};

DeliveryState state_of(const redisReply *reply) {
  switch (number(reply)) {
  case 1:
    return DeliveryState::succeeded;
  case 2:
    return DeliveryState::failed;
  default:
    return DeliveryState::pending;
  }
}

// fields: k_delivery_fields replies in k_field_names order
Delivery read_delivery(std::string id, redisReply *const *fields) {
  Delivery delivery;
  delivery.id = std::move(id);
  delivery.endpoint_id = text(fields[0]);
  delivery.event_type = text(fields[1]);
  delivery.events = static_cast<std::uint32_t>(number(fields[2]));
  delivery.body = text(fields[3]);
  delivery.created = time_of(fields[4]);
  delivery.state = state_of(fields[5]);
  delivery.attempts = static_cast<std::uint32_t>(number(fields[6]));
  delivery.next_attempt = time_of(fields[7]);
  return delivery;
}

// an attempt as a list element: "<at> <status> <latency> <error length>
// <error><response>", binary-safe
std::string encode_attempt(const Attempt &attempt) {
  return to_ms(attempt.at) + " " + std::to_string(attempt.status) + " " +
         std::to_string(attempt.latency.count()) + " " +
         std::to_string(attempt.error.size()) + " " + attempt.error +
         attempt.response;
}

std::optional<Attempt> decode_attempt(std::string_view encoded,
                                      const std::string &delivery_id) {
  std::int64_t numbers[4] = {};
  const char *position = encoded.data();
  const char *const end = encoded.data() + encoded.size();
  for (auto &value : numbers) {
    const auto [next, error] = std::from_chars(position, end, value);
    if (error != std::errc() || next == end || *next != ' ')
      return std::nullopt;
    position = next + 1;
  }
  const auto rest = static_cast<std::size_t>(end - position);
  if (numbers[3] < 0 || static_cast<std::size_t>(numbers[3]) > rest)
    return std::nullopt;
  Attempt attempt;
  attempt.delivery_id = delivery_id;
  attempt.at = TimePoint(std::chrono::milliseconds(numbers[0]));
  attempt.status = static_cast<int>(numbers[1]);
  attempt.latency = std::chrono::milliseconds(numbers[2]);
  const auto error_length = static_cast<std::size_t>(numbers[3]);
  attempt.error.assign(position, error_length);
  attempt.response.assign(position + error_length, rest - error_length);
  return attempt;
}

} // namespace

RedisWebhookStore::Result<std::unique_ptr<RedisWebhookStore>>
RedisWebhookStore::connect(Options options) {
  return Connection::open<RedisWebhookStore>(std::move(options));
}

RedisWebhookStore::RedisWebhookStore(Options options)
    : m_connection(std::move(options)),
      m_prefix(m_connection.options().ns + ":wh:") {
  for (const char *name : {"endpoints", "version", "due", "leases", "finished"})
    m_keys.push_back(m_prefix + name);
  const std::pair<ScriptId *, const char *> scripts[] = {
      {&m_put_endpoint, k_put_endpoint},
      {&m_remove_endpoint, k_remove_endpoint},
      {&m_enqueue, k_enqueue},
      {&m_claim, k_claim},
      {&m_finish, k_finish},
      {&m_release_owner, k_release_owner},
      {&m_redeliver, k_redeliver},
      {&m_recover, k_recover},
      {&m_pending, k_pending},
      {&m_prune, k_prune},
  };
  for (const auto &[script, body] : scripts)
    *script = m_connection.add_script(std::string(k_prelude) + body);
}

RedisWebhookStore::~RedisWebhookStore() = default;

RedisWebhookStore::Result<RedisWebhookStore::Reply>
RedisWebhookStore::run(ScriptId script, std::vector<std::string> arguments) {
  arguments.insert(arguments.begin(), m_prefix);
  return m_connection.run(script, m_keys, std::move(arguments));
}

RedisWebhookStore::Result<void> RedisWebhookStore::do_ping() {
  auto reply = m_connection.command({"PING"});
  if (!reply)
    return tl::unexpected(reply.error());
  return {};
}

RedisWebhookStore::Result<void> RedisWebhookStore::do_probe() {
  return m_connection.write_probe(m_prefix + "probe");
}

RedisWebhookStore::Result<bool>
RedisWebhookStore::do_put_endpoint(const Endpoint &endpoint, bool replace) {
  std::vector<std::string> arguments{
      endpoint.id, encode_endpoint(endpoint), to_ms(endpoint.created),
      to_ms(endpoint.failing_since), replace ? "1" : "0"};
  auto reply = run(m_put_endpoint, std::move(arguments));
  if (!reply)
    return tl::unexpected(reply.error());
  return number(reply->get()) == 1;
}

RedisWebhookStore::Result<std::optional<Endpoint>>
RedisWebhookStore::do_endpoint(const std::string &id) {
  auto reply = m_connection.command(
      {"HMGET", m_prefix + "ep:" + id, "data", "failing_since"});
  if (!reply)
    return tl::unexpected(reply.error());
  const redisReply *r = reply->get();
  if (r->type != REDIS_REPLY_ARRAY || r->elements != 2)
    return db::corrupt(m_connection.description() +
                       ": endpoint: unexpected reply");
  if (r->element[0]->type == REDIS_REPLY_NIL)
    return std::nullopt;
  auto endpoint = decode_endpoint(text(r->element[0]));
  if (!endpoint)
    return db::corrupt(m_connection.description() + ": " + endpoint.error());
  endpoint->failing_since = time_of(r->element[1]);
  return std::move(*endpoint);
}

RedisWebhookStore::Result<std::vector<Endpoint>>
RedisWebhookStore::do_endpoints() {
  auto ids = m_connection.command({"ZRANGE", m_keys[0], "0", "-1"});
  if (!ids)
    return tl::unexpected(ids.error());
  std::vector<std::vector<std::string>> commands;
  const redisReply *r = ids->get();
  for (std::size_t i = 0; r->type == REDIS_REPLY_ARRAY && i < r->elements; i++)
    commands.push_back({"HMGET", m_prefix + "ep:" + text(r->element[i]), "data",
                        "failing_since"});
  auto replies = m_connection.pipeline(commands);
  if (!replies)
    return tl::unexpected(replies.error());
  std::vector<Endpoint> endpoints;
  for (const auto &reply : *replies) {
    if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 2)
      return db::corrupt(m_connection.description() +
                         ": endpoints: unexpected reply");
    if (reply->element[0]->type == REDIS_REPLY_NIL)
      continue; // removed meanwhile
    auto endpoint = decode_endpoint(text(reply->element[0]));
    if (!endpoint)
      return db::corrupt(m_connection.description() + ": " + endpoint.error());
    endpoint->failing_since = time_of(reply->element[1]);
    endpoints.push_back(std::move(*endpoint));
  }
  return endpoints;
}

RedisWebhookStore::Result<bool>
RedisWebhookStore::do_remove_endpoint(const std::string &id) {
  auto reply = run(m_remove_endpoint, {id});
  if (!reply)
    return tl::unexpected(reply.error());
  return number(reply->get()) == 1;
}

RedisWebhookStore::Result<std::uint64_t>
RedisWebhookStore::do_endpoints_version() {
  auto reply = m_connection.command({"GET", m_keys[1]});
  if (!reply)
    return tl::unexpected(reply.error());
  return static_cast<std::uint64_t>(number(reply->get()));
}

RedisWebhookStore::Result<void>
RedisWebhookStore::do_enqueue(const std::vector<Delivery> &deliveries) {
  std::vector<std::string> arguments;
  arguments.reserve(deliveries.size() * 7);
  for (const auto &delivery : deliveries) {
    arguments.push_back(delivery.id);
    arguments.push_back(delivery.endpoint_id);
    arguments.push_back(delivery.event_type);
    arguments.push_back(std::to_string(delivery.events));
    arguments.push_back(delivery.body);
    arguments.push_back(to_ms(delivery.created));
    arguments.push_back(to_ms(delivery.next_attempt));
  }
  // one script for the whole batch: one round trip, and all or nothing
  auto reply = run(m_enqueue, std::move(arguments));
  if (!reply)
    return tl::unexpected(reply.error());
  return {};
}

RedisWebhookStore::Result<std::vector<Delivery>>
RedisWebhookStore::do_claim(const std::string &owner, TimePoint now,
                            std::chrono::milliseconds lease, std::size_t max,
                            std::size_t per_endpoint) {
  if (max == 0) // no room: nothing to claim
    return std::vector<Delivery>{};
  auto reply = run(m_claim, {owner, to_ms(now), to_ms(now + lease),
                             std::to_string(max), std::to_string(per_endpoint),
                             std::to_string(k_claim_scan)});
  if (!reply)
    return tl::unexpected(reply.error());
  const redisReply *r = reply->get();
  constexpr std::size_t k_stride = 1 + k_delivery_fields;
  if (r->type != REDIS_REPLY_ARRAY || r->elements % k_stride != 0)
    return db::corrupt(m_connection.description() +
                       ": claim: unexpected reply");
  std::vector<Delivery> deliveries;
  for (std::size_t i = 0; i < r->elements; i += k_stride)
    deliveries.push_back(
        read_delivery(text(r->element[i]), r->element + i + 1));
  return deliveries;
}

RedisWebhookStore::Result<bool>
RedisWebhookStore::do_finish(const Delivery &delivery, const std::string &owner,
                             const Attempt &attempt, const Outcome &outcome) {
  auto finished = do_finish_all({Finish{delivery, owner, attempt, outcome}});
  if (!finished)
    return tl::unexpected(finished.error());
  return finished->front();
}

RedisWebhookStore::Result<std::vector<bool>>
RedisWebhookStore::do_finish_all(const std::vector<Finish> &finishes) {
  std::vector<std::string> arguments{std::to_string(k_attempts_kept)};
  arguments.reserve(1 + 6 * finishes.size());
  for (const auto &one : finishes) {
    arguments.push_back(one.delivery.id);
    arguments.push_back(one.owner);
    arguments.push_back(encode_attempt(one.attempt));
    arguments.push_back(std::to_string(static_cast<int>(one.outcome.state)));
    arguments.push_back(to_ms(one.outcome.retry_at));
    arguments.push_back(to_ms(one.attempt.at));
  }
  auto reply = run(m_finish, std::move(arguments));
  if (!reply)
    return tl::unexpected(reply.error());
  const redisReply *r = reply->get();
  if (r->type != REDIS_REPLY_ARRAY || r->elements != finishes.size())
    return db::corrupt(m_connection.description() +
                       ": finish: unexpected reply");
  std::vector<bool> held;
  held.reserve(finishes.size());
  for (std::size_t i = 0; i < r->elements; i++)
    held.push_back(number(r->element[i]) == 1);
  return held;
}

RedisWebhookStore::Result<std::size_t>
RedisWebhookStore::do_release_owner(const std::string &owner) {
  auto reply = run(m_release_owner, {owner});
  if (!reply)
    return tl::unexpected(reply.error());
  return static_cast<std::size_t>(number(reply->get()));
}

RedisWebhookStore::Result<std::vector<DeliveryRecord>>
RedisWebhookStore::records(const std::vector<std::string> &ids) {
  std::vector<std::vector<std::string>> commands;
  commands.reserve(ids.size() * 2);
  for (const auto &id : ids) {
    std::vector<std::string> hmget{"HMGET", m_prefix + "d:" + id};
    hmget.insert(hmget.end(), std::begin(k_field_names),
                 std::end(k_field_names));
    commands.push_back(std::move(hmget));
    commands.push_back({"LRANGE", m_prefix + "a:" + id, "0", "-1"});
  }
  auto replies = m_connection.pipeline(commands);
  if (!replies)
    return tl::unexpected(replies.error());
  std::vector<DeliveryRecord> records;
  for (std::size_t i = 0; i < ids.size(); i++) {
    const redisReply *fields = (*replies)[2 * i].get();
    const redisReply *attempts = (*replies)[2 * i + 1].get();
    if (fields->type != REDIS_REPLY_ARRAY ||
        fields->elements != k_delivery_fields ||
        attempts->type != REDIS_REPLY_ARRAY)
      return db::corrupt(m_connection.description() +
                         ": deliveries: unexpected reply");
    if (fields->element[0]->type == REDIS_REPLY_NIL)
      continue; // removed meanwhile
    DeliveryRecord record{read_delivery(ids[i], fields->element), {}};
    for (std::size_t a = 0; a < attempts->elements; a++) {
      auto attempt = decode_attempt(text(attempts->element[a]), ids[i]);
      if (!attempt)
        return db::corrupt(m_connection.description() +
                           ": a stored attempt of " + ids[i] + " is garbled");
      record.attempts.push_back(std::move(*attempt));
    }
    records.push_back(std::move(record));
  }
  return records;
}

RedisWebhookStore::Result<std::vector<DeliveryRecord>>
RedisWebhookStore::do_deliveries(const std::string &endpoint_id,
                                 std::size_t limit) {
  auto reply =
      m_connection.command({"ZREVRANGE", m_prefix + "log:" + endpoint_id, "0",
                            std::to_string(limit - 1)});
  if (!reply)
    return tl::unexpected(reply.error());
  std::vector<std::string> ids;
  const redisReply *r = reply->get();
  for (std::size_t i = 0; r->type == REDIS_REPLY_ARRAY && i < r->elements; i++)
    ids.push_back(text(r->element[i]));
  return records(ids);
}

RedisWebhookStore::Result<std::optional<DeliveryRecord>>
RedisWebhookStore::do_delivery(const std::string &id) {
  auto found = records({id});
  if (!found)
    return tl::unexpected(found.error());
  if (found->empty())
    return std::nullopt;
  return std::move(found->front());
}

RedisWebhookStore::Result<bool>
RedisWebhookStore::do_redeliver(const std::string &id, TimePoint now) {
  auto reply = run(m_redeliver, {id, to_ms(now)});
  if (!reply)
    return tl::unexpected(reply.error());
  return number(reply->get()) == 1;
}

RedisWebhookStore::Result<std::size_t>
RedisWebhookStore::do_recover(const std::string &endpoint_id, TimePoint since,
                              TimePoint until, TimePoint now) {
  auto reply =
      run(m_recover, {endpoint_id, to_ms(since), to_ms(until), to_ms(now)});
  if (!reply)
    return tl::unexpected(reply.error());
  return static_cast<std::size_t>(number(reply->get()));
}

RedisWebhookStore::Result<std::uint64_t> RedisWebhookStore::do_pending() {
  auto reply = run(m_pending, {});
  if (!reply)
    return tl::unexpected(reply.error());
  return static_cast<std::uint64_t>(number(reply->get()));
}

RedisWebhookStore::Result<std::size_t>
RedisWebhookStore::do_prune(TimePoint before, std::size_t at_most) {
  auto reply = run(m_prune, {to_ms(before), std::to_string(at_most)});
  if (!reply)
    return tl::unexpected(reply.error());
  return static_cast<std::size_t>(number(reply->get()));
}

} // namespace dovewarden::webhook
