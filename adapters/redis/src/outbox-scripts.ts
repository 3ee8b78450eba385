import { LuaScript } from "./script.js";

// The outbox is split into shards `<prefix>:{ob:<n>}:` (n from a hash of the idempotency key).
// The idempotency key of a message lives at `ik:<tenant token>|<key>`: keys are unique per tenant.
// All keys of one shard share its hash tag (one Cluster slot), so a script may touch the message
// hashes and channel streams of its shard that it discovers while running; `P` (ARGV) is the
// shard's full key prefix, the client's `keyPrefix` included. Message hash fields: id, t (tenant token),
// ch, p (payload JSON, never parsed by Lua), ik, st (status), at (attempts), ca (createdAt),
// na (nextAttemptAt), lo (lease owner), lu (lease until), le (last error), da (delivered at),
// fa (finished at), v (version), sid (stream entry id while due). Times are ISO strings from
// Date#toISOString, which compare correctly as strings.

export const GROUP = "ops-workers";

/**
 * KEYS: idem key, message hash, schedule zset, list zset, channel set, channel stream. ARGV[9]: the
 * shard's key prefix. Returns {'new' | 'dup', id, ...the message hash as field, value pairs}.
 */
export const ENQUEUE = new LuaScript(`
local existing = redis.call('GET', KEYS[1])
if existing then return {'dup', existing, unpack(redis.call('HGETALL', ARGV[9] .. 'm:' .. existing))} end
if redis.call('EXISTS', KEYS[2]) == 1 then
  return redis.error_reply('OPS_CONFLICT message id "' .. ARGV[1] .. '" already exists under another idempotency key')
end
redis.call('SET', KEYS[1], ARGV[1])
redis.call('HSET', KEYS[2], 'id', ARGV[1], 't', ARGV[2], 'ch', ARGV[3], 'p', ARGV[4], 'ik', ARGV[5],
  'st', 'pending', 'at', 0, 'ca', ARGV[6], 'na', ARGV[7], 'lo', '', 'lu', '', 'le', '', 'da', '', 'fa', '', 'v', 1, 'sid', '')
redis.call('ZADD', KEYS[3], ARGV[8], ARGV[1])
redis.call('ZADD', KEYS[4], 0, ARGV[6] .. '|' .. ARGV[1])
if redis.call('SADD', KEYS[5], ARGV[3]) == 1 then
  pcall(redis.call, 'XGROUP', 'CREATE', KEYS[6], '${GROUP}', '0', 'MKSTREAM')
end
return {'new', ARGV[1], unpack(redis.call('HGETALL', KEYS[2]))}
`);

/**
 * The claim of one shard, as a Lua function shared by CLAIM and CLAIM_SHARDS. P: the shard's full
 * key prefix; the common arguments start after ARGV[o]: now, nowMs, worker, leaseUntil, (unused),
 * (unused), mode, filter flag ('1' = only the channels that follow), leaseUntil ms, channels...
 * mode 'lease': leases and returns the leased messages (each its hash as field, value pairs),
 * oldest nextAttemptAt first. mode 'peek': leases nothing and returns {nextAttemptAt, id, ...} of
 * what 'lease' would take, so a caller can merge shards.
 */
const CLAIM_SHARD_FN = `
local function claimShard(P, limit, o)
  local now, nowMs, worker, leaseUntil = ARGV[o + 1], tonumber(ARGV[o + 2]), ARGV[o + 3], ARGV[o + 4]
  -- 1. messages that became due move into their channel's stream, in (nextAttemptAt, id) order
  local due = redis.call('ZRANGEBYSCORE', P .. 'sched', '-inf', nowMs, 'LIMIT', 0, 1000)
  for _, id in ipairs(due) do
    local mk = P .. 'm:' .. id
    if redis.call('HGET', mk, 'st') == 'pending' and redis.call('HGET', mk, 'sid') == '' then
      local sk = P .. 's:' .. redis.call('HGET', mk, 'ch')
      pcall(redis.call, 'XGROUP', 'CREATE', sk, '${GROUP}', '0', 'MKSTREAM')
      redis.call('HSET', mk, 'sid', redis.call('XADD', sk, '*', 'id', id))
    end
    redis.call('ZREM', P .. 'sched', id)
  end
  local channels
  if ARGV[o + 8] == '1' then
    channels = {}
    for i = o + 10, #ARGV do channels[#channels + 1] = ARGV[i] end
  else
    channels = redis.call('SMEMBERS', P .. 'channels')
  end
  if #channels == 0 or limit <= 0 then return {} end
  -- 2. per channel, the candidates in stream order: expired leases first, then undelivered entries.
  -- Expired leases come from the channel's lease index (id by leaseUntil ms), read in pages until
  -- \`limit\` are found, so a claim costs what it takes, not the size of the streams' pending lists,
  -- and a claim for one channel never stops at other channels' expired leases. An index entry whose
  -- message is no longer leased (finished, gone) is dropped as it is met. Entries of the index that
  -- held every channel's leases (before it was split per channel) move to their channel's index,
  -- a page per claim.
  local legacy = P .. 'leases'
  if redis.call('EXISTS', legacy) == 1 then
    local old = redis.call('ZRANGE', legacy, 0, 999, 'WITHSCORES')
    for i = 1, #old, 2 do
      local ch = redis.call('HGET', P .. 'm:' .. old[i], 'ch')
      if ch then redis.call('ZADD', P .. 'leases:' .. ch, old[i + 1], old[i]) end
      redis.call('ZREM', legacy, old[i])
    end
  end
  local function expiredOf(ch)
    local list, lk, offset = {}, P .. 'leases:' .. ch, 0
    while #list < limit do
      local page = redis.call('ZRANGEBYSCORE', lk, '-inf', nowMs, 'LIMIT', offset, limit - #list)
      if #page == 0 then break end
      local stale = {}
      for _, id in ipairs(page) do
        local f = redis.call('HMGET', P .. 'm:' .. id, 'st', 'lu', 'sid', 'na')
        if f[1] == 'pending' and f[2] and f[2] ~= '' and f[3] and f[3] ~= '' then
          if f[2] <= now then list[#list + 1] = {kind = 'reclaim', sid = f[3], id = id, na = f[4]} end
        else
          stale[#stale + 1] = id
        end
      end
      if #stale > 0 then redis.call('ZREM', lk, unpack(stale)) end
      offset = offset + #page - #stale
    end
    return list
  end
  local function sidLess(a, b)
    local am, as = string.match(a.sid, '^(%d+)-(%d+)$')
    local bm, bs = string.match(b.sid, '^(%d+)-(%d+)$')
    if tonumber(am) ~= tonumber(bm) then return tonumber(am) < tonumber(bm) end
    return tonumber(as) < tonumber(bs)
  end
  local queues = {}
  for _, ch in ipairs(channels) do
    local sk = P .. 's:' .. ch
    if redis.call('EXISTS', sk) == 1 then
      local q = expiredOf(ch)
      table.sort(q, sidLess)
      local last = '0-0'
      for _, g in ipairs(redis.call('XINFO', 'GROUPS', sk)) do
        local name, ld
        for i = 1, #g, 2 do
          if g[i] == 'name' then name = g[i + 1] end
          if g[i] == 'last-delivered-id' then ld = g[i + 1] end
        end
        if name == '${GROUP}' then last = ld end
      end
      for _, e in ipairs(redis.call('XRANGE', sk, '(' .. last, '+', 'COUNT', limit)) do
        local id = e[2][2]
        q[#q + 1] = {kind = 'new', sid = e[1], id = id, na = redis.call('HGET', P .. 'm:' .. id, 'na')}
      end
      if #q > 0 then queues[#queues + 1] = {sk = sk, ch = ch, q = q, pos = 1, new = 0} end
    end
  end
  -- 3. merge the channels by (nextAttemptAt, id), keeping each channel's stream order
  local chosen = {}
  while #chosen < limit do
    local best, bestItem
    for qi, qu in ipairs(queues) do
      local item = qu.q[qu.pos]
      if item and (not bestItem or item.na < bestItem.na or (item.na == bestItem.na and item.id < bestItem.id)) then
        best, bestItem = qi, item
      end
    end
    if not best then break end
    local qu = queues[best]
    qu.pos = qu.pos + 1
    if bestItem.kind == 'new' then qu.new = qu.new + 1 end
    chosen[#chosen + 1] = {sk = qu.sk, ch = qu.ch, item = bestItem}
  end
  if ARGV[o + 7] == 'peek' then
    local out = {}
    for _, c in ipairs(chosen) do
      out[#out + 1] = c.item.na
      out[#out + 1] = c.item.id
    end
    return out
  end
  -- 4. lease them: XCLAIM the expired ones, XREADGROUP the new ones (exactly the first n undelivered)
  for _, qu in ipairs(queues) do
    if qu.new > 0 then redis.call('XREADGROUP', 'GROUP', '${GROUP}', worker, 'COUNT', qu.new, 'STREAMS', qu.sk, '>') end
  end
  local ids = {}
  for _, c in ipairs(chosen) do
    if c.item.kind == 'reclaim' then redis.call('XCLAIM', c.sk, '${GROUP}', worker, 0, c.item.sid) end
    local mk = P .. 'm:' .. c.item.id
    redis.call('HSET', mk, 'lo', worker, 'lu', leaseUntil)
    redis.call('ZADD', P .. 'leases:' .. c.ch, ARGV[o + 9], c.item.id)
    redis.call('HINCRBY', mk, 'at', 1)
    redis.call('HINCRBY', mk, 'v', 1)
    ids[#ids + 1] = redis.call('HGETALL', mk)
  end
  return ids
end
`;

/** One shard. KEYS: schedule zset, channel set. ARGV: now, nowMs, worker, leaseUntil, limit, key prefix, then as CLAIM_SHARD_FN. */
export const CLAIM = new LuaScript(`${CLAIM_SHARD_FN}
return claimShard(ARGV[6], tonumber(ARGV[5]), 0)
`);

/**
 * Several shards that live on the same node, in one call (one script run per master and round
 * instead of one per shard). KEYS: the first shard's schedule zset (it routes the call). ARGV: the
 * shard count m, then m pairs (shard's full key prefix, limit), then CLAIM's arguments. The other
 * shards' keys are not declared: Redis lets a script reach undeclared keys of other slots the node
 * serves, and answers an error naming a "non local key" when one moved away (the caller then runs
 * CLAIM per shard). Returns one CLAIM result per shard, in order.
 */
export const CLAIM_SHARDS = new LuaScript(`${CLAIM_SHARD_FN}
local m = tonumber(ARGV[1])
local o = 1 + 2 * m
-- Every shard is touched by a read first, so a shard that moved fails the call before any write.
for i = 1, m do redis.call('EXISTS', ARGV[2 * i] .. 'sched') end
local out = {}
for i = 1, m do out[i] = claimShard(ARGV[2 * i], tonumber(ARGV[2 * i + 1]), o) end
return out
`);

/** KEYS: message hash. ARGV: worker, now, key prefix, id, retention ms. Returns the message hash (field, value pairs). */
export const COMPLETE = new LuaScript(
  `
if redis.call('EXISTS', KEYS[1]) == 0 then return redis.error_reply('OPS_NOTFOUND no outbox message "' .. ARGV[4] .. '"') end
local st, lo = redis.call('HGET', KEYS[1], 'st'), redis.call('HGET', KEYS[1], 'lo')
if st ~= 'pending' or lo ~= ARGV[1] then
  return redis.error_reply('OPS_CONFLICT message "' .. ARGV[4] .. '" is not leased to this worker (status ' .. st .. ')')
end
local sid, sk = redis.call('HGET', KEYS[1], 'sid'), ARGV[3] .. 's:' .. redis.call('HGET', KEYS[1], 'ch')
if sid ~= '' then
  redis.call('XACK', sk, '${GROUP}', sid)
  redis.call('XDEL', sk, sid)
end
redis.call('HSET', KEYS[1], 'st', 'delivered', 'da', ARGV[2], 'lo', '', 'lu', '', 'sid', '')
redis.call('ZREM', ARGV[3] .. 'leases:' .. redis.call('HGET', KEYS[1], 'ch'), ARGV[4])
redis.call('HINCRBY', KEYS[1], 'v', 1)
if tonumber(ARGV[5]) > 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[5])
  redis.call('PEXPIRE', ARGV[3] .. 'ik:' .. redis.call('HGET', KEYS[1], 't') .. '|' .. redis.call('HGET', KEYS[1], 'ik'), ARGV[5])
end
return redis.call('HGETALL', KEYS[1])
`,
  { idempotent: true },
);

/**
 * KEYS: message hash, schedule zset, dead-letter stream. ARGV: worker, now, key prefix, id,
 * error, retryAt, retryAtMs, final ('' = retry), retention ms for finished messages.
 */
export const FAIL = new LuaScript(
  `
if redis.call('EXISTS', KEYS[1]) == 0 then return redis.error_reply('OPS_NOTFOUND no outbox message "' .. ARGV[4] .. '"') end
local st, lo = redis.call('HGET', KEYS[1], 'st'), redis.call('HGET', KEYS[1], 'lo')
if st ~= 'pending' or lo ~= ARGV[1] then
  return redis.error_reply('OPS_CONFLICT message "' .. ARGV[4] .. '" is not leased to this worker (status ' .. st .. ')')
end
local sid, sk = redis.call('HGET', KEYS[1], 'sid'), ARGV[3] .. 's:' .. redis.call('HGET', KEYS[1], 'ch')
if sid ~= '' then
  redis.call('XACK', sk, '${GROUP}', sid)
  redis.call('XDEL', sk, sid)
end
redis.call('HSET', KEYS[1], 'le', ARGV[5], 'lo', '', 'lu', '', 'sid', '')
redis.call('ZREM', ARGV[3] .. 'leases:' .. redis.call('HGET', KEYS[1], 'ch'), ARGV[4])
redis.call('HINCRBY', KEYS[1], 'v', 1)
if ARGV[8] == '' then
  redis.call('HSET', KEYS[1], 'na', ARGV[6])
  redis.call('ZADD', KEYS[2], ARGV[7], ARGV[4])
else
  redis.call('HSET', KEYS[1], 'st', ARGV[8], 'fa', ARGV[2])
  if ARGV[8] == 'dead' then
    redis.call('XADD', KEYS[3], 'MAXLEN', '~', 100000, '*', 'id', ARGV[4], 'error', ARGV[5], 'at', ARGV[2])
  end
end
return 1
`,
  { idempotent: true },
);

/** KEYS: message hash, schedule zset. ARGV: now, nowMs, id, key prefix. */
export const REQUEUE = new LuaScript(
  `
if redis.call('EXISTS', KEYS[1]) == 0 then return redis.error_reply('OPS_NOTFOUND no outbox message "' .. ARGV[3] .. '"') end
local st = redis.call('HGET', KEYS[1], 'st')
if st == 'pending' or st == 'delivered' then
  return redis.error_reply('OPS_CONFLICT message "' .. ARGV[3] .. '" is ' .. st .. ', only dead, expired or cancelled messages can be requeued')
end
redis.call('HSET', KEYS[1], 'st', 'pending', 'at', 0, 'fa', '', 'na', ARGV[1], 'lo', '', 'lu', '')
redis.call('HINCRBY', KEYS[1], 'v', 1)
redis.call('PERSIST', KEYS[1])
redis.call('PERSIST', ARGV[4] .. 'ik:' .. redis.call('HGET', KEYS[1], 't') .. '|' .. redis.call('HGET', KEYS[1], 'ik'))
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[3])
return 1
`,
  { idempotent: true },
);

/**
 * KEYS: message hash, schedule zset. ARGV: now, key prefix, id, reason ('' = keep lastError).
 * A pending message (due, waiting for backoff, or leased) becomes cancelled: its stream entry is
 * acknowledged and deleted (a worker's lease ends with it), it leaves the schedule and the lease
 * index, so neither a claim nor the holder's complete/fail can touch it afterwards.
 */
export const CANCEL = new LuaScript(
  `
if redis.call('EXISTS', KEYS[1]) == 0 then return redis.error_reply('OPS_NOTFOUND no outbox message "' .. ARGV[3] .. '"') end
local st = redis.call('HGET', KEYS[1], 'st')
if st ~= 'pending' then
  return redis.error_reply('OPS_CONFLICT message "' .. ARGV[3] .. '" is ' .. st .. ', only pending messages can be cancelled')
end
local sid, sk = redis.call('HGET', KEYS[1], 'sid'), ARGV[2] .. 's:' .. redis.call('HGET', KEYS[1], 'ch')
if sid ~= '' then
  redis.call('XACK', sk, '${GROUP}', sid)
  redis.call('XDEL', sk, sid)
end
redis.call('ZREM', KEYS[2], ARGV[3])
redis.call('ZREM', ARGV[2] .. 'leases:' .. redis.call('HGET', KEYS[1], 'ch'), ARGV[3])
redis.call('HSET', KEYS[1], 'st', 'cancelled', 'fa', ARGV[1], 'lo', '', 'lu', '', 'sid', '')
if ARGV[4] ~= '' then redis.call('HSET', KEYS[1], 'le', ARGV[4]) end
redis.call('HINCRBY', KEYS[1], 'v', 1)
return redis.call('HGETALL', KEYS[1])
`,
  { idempotent: true },
);

/**
 * Erasure. KEYS: message hash. ARGV: version read, payload read, last error read, new payload, new
 * last error. Writes (and bumps the version) only when the message is still what was read.
 */
export const SCRUB = new LuaScript(`
local cur = redis.call('HMGET', KEYS[1], 'v', 'p', 'le')
if cur[1] ~= ARGV[1] or cur[2] ~= ARGV[2] or (cur[3] or '') ~= ARGV[3] then return 0 end
redis.call('HSET', KEYS[1], 'p', ARGV[4], 'le', ARGV[5])
redis.call('HINCRBY', KEYS[1], 'v', 1)
return 1
`);

/**
 * Erasure in the dead-letter stream. KEYS: dead-letter stream. ARGV: entry id, message id, scrubbed
 * error, at. The entry is deleted and a scrubbed copy appended (stream entries cannot be edited).
 */
export const SCRUB_DEAD = new LuaScript(`
if redis.call('XDEL', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('XADD', KEYS[1], '*', 'id', ARGV[2], 'error', ARGV[3], 'at', ARGV[4])
return 1
`);
