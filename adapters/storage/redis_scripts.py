"""The Lua scripts of the Redis store.

Redis runs a script whole, with no other command in between, so every change that touches
several keys (a task, its indexes and its counters) is one script: clients never see half a
write, and checks followed by writes (claims, idempotency keys, locks) cannot race. Key names
come from :class:`~fastapi_taskflow.adapters.storage.redis_keys.RedisKeys` through ``KEYS``
and ``ARGV``; names that depend on stored data (a task's indexes, its function's counters)
are built from the stems passed in, so the scripts need a single Redis server (or one shard),
not a Redis Cluster.

Scripts never compare strings with Lua's ``<``, which follows the server's locale: order is
Redis's byte order, and the one merge below compares bytes itself.
"""

from __future__ import annotations

from fastapi_taskflow.adapters.storage.redis_codec import RECORD_FIELDS
from fastapi_taskflow.adapters.storage.redis_one_off_codec import ONE_OFF_FIELDS

_RECORD_FIELDS = "local RECORD_FIELDS = {" + ", ".join(f"'{name}'" for name in RECORD_FIELDS) + "}"
_ONE_OFF_FIELDS = (
    "local ONE_OFF_FIELDS = {" + ", ".join(f"'{name}'" for name in ONE_OFF_FIELDS) + "}"
)

#: Shared by the scripts that write tasks. KEYS: functions, durations, duration sums, ended.
#: ARGV: task stem, counts stem, durations stem, held-keys stem, idempotency stem, then the
#: script's own arguments from ARGV[6].
_BOOKKEEPING = """
local task_stem, counts_stem, durations_stem = ARGV[1], ARGV[2], ARGV[3]

-- Counts one down; drops the field at zero so the hash lists only what exists.
local function decrement(key, field)
  if redis.call('HINCRBY', key, field, -1) <= 0 then
    redis.call('HDEL', key, field)
    return true
  end
  return false
end

local function negated(number)
  if string.sub(number, 1, 1) == '-' then
    return string.sub(number, 2)
  end
  -- Redis refuses '-0' as an increment, and a task may well take 0 microseconds.
  if number == '0' then
    return number
  end
  return '-' .. number
end

-- Takes a stored task out of every index and counter (its hash stays).
local function unindex(key, id)
  local old = redis.call('HMGET', key, 'member', 'indexes', 'status', 'func', 'duration')
  local member, func = old[1], old[4]
  if not member then
    return
  end
  for _, index in ipairs(cjson.decode(old[2])) do
    redis.call('ZREM', index, member)
  end
  decrement(counts_stem .. func, old[3])
  if old[5] then
    redis.call('ZREM', KEYS[2], id)
    redis.call('ZREM', durations_stem .. func, id)
    redis.call('HINCRBY', KEYS[3], func, negated(old[5]))
  end
  if decrement(KEYS[1], func) then
    redis.call('HDEL', KEYS[3], func)
  end
  redis.call('ZREM', KEYS[4], id)
end
"""

#: Writes a batch of tasks. ARGV[6]: arguments per task, ARGV[7]: number of tasks, then each
#: task's arguments (see ``EncodedTask.script_args``). Returns the number written.
SAVE = (
    _BOOKKEEPING
    + """
local per_task, count = tonumber(ARGV[6]), tonumber(ARGV[7])
local optional = {'args', 'kwargs', 'payload', 'owner'}
for t = 0, count - 1 do
  local a = 7 + t * per_task
  local id, status, func, member = ARGV[a + 1], ARGV[a + 8], ARGV[a + 9], ARGV[a + 10]
  local indexes, duration, ended = ARGV[a + 11], ARGV[a + 12], ARGV[a + 13]
  local key = task_stem .. id
  unindex(key, id)
  redis.call('DEL', key)
  local fields = {
    'record', ARGV[a + 2], 'status', status, 'func', func, 'member', member,
    'indexes', indexes,
  }
  local present = ARGV[a + 7]
  for i, name in ipairs(optional) do
    if string.sub(present, i, i) == '1' then
      fields[#fields + 1] = name
      fields[#fields + 1] = ARGV[a + 2 + i]
    end
  end
  if duration ~= '' then
    fields[#fields + 1] = 'duration'
    fields[#fields + 1] = duration
  end
  redis.call('HSET', key, unpack(fields))
  for _, index in ipairs(cjson.decode(indexes)) do
    redis.call('ZADD', index, 0, member)
  end
  redis.call('HINCRBY', counts_stem .. func, status, 1)
  redis.call('HINCRBY', KEYS[1], func, 1)
  if duration ~= '' then
    -- Scores stay strings: Lua would print a large number with only 14 digits.
    redis.call('ZADD', KEYS[2], duration, id)
    redis.call('ZADD', durations_stem .. func, duration, id)
    redis.call('HINCRBY', KEYS[3], func, duration)
  end
  if ended ~= '' then
    redis.call('ZADD', KEYS[4], ended, id)
  end
end
return count
"""
)

#: Deletes up to ARGV[7] finished tasks that ended before ARGV[6] (microseconds), with the
#: idempotency keys they hold. Returns how many were deleted.
DELETE_ENDED = (
    _BOOKKEEPING
    + """
local ids = redis.call('ZRANGEBYSCORE', KEYS[4], '-inf', '(' .. ARGV[6], 'LIMIT', 0, ARGV[7])
for _, id in ipairs(ids) do
  local key = task_stem .. id
  unindex(key, id)
  redis.call('DEL', key)
  local held = ARGV[4] .. id
  for _, name in ipairs(redis.call('SMEMBERS', held)) do
    local holder = ARGV[5] .. name
    if redis.call('GET', holder) == id then
      redis.call('DEL', holder)
    end
  end
  redis.call('DEL', held)
end
return #ids
"""
)

#: Reads a page (ARGV[1] = 'page') or the metric fields (ARGV[1] = 'stats') of the tasks that
#: are in at least one index of every group, newest first, within ARGV[5]..ARGV[4] (high and
#: low lexicographic bounds). ARGV[2]: task stem, ARGV[3]: where the id starts in a member,
#: ARGV[6]: how many matches a page wants, ARGV[7]: how many members one call may visit,
#: ARGV[8]: number of groups, then each group's number of keys; KEYS: the groups' keys.
#:
#: The group with the fewest members in range drives the walk; the others are checked per
#: member (ZSCORE). Returns {bound to continue below, or nil when done; matches}: a page's
#: matches are records (RECORD_FIELDS), metric matches are {func, status, duration}.
SCAN = (
    _RECORD_FIELDS
    + """
local mode, task_stem, offset = ARGV[1], ARGV[2], tonumber(ARGV[3])
local high, low = ARGV[4], ARGV[5]
local want, budget, group_count = tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[8])

-- Byte order (Lua's own < on strings follows the server's locale).
local function before(a, b)
  if a == b then
    return false
  end
  for i = 1, math.min(#a, #b) do
    local x, y = string.byte(a, i), string.byte(b, i)
    if x ~= y then
      return x < y
    end
  end
  return #a < #b
end

-- Members of the union of keys, newest first, and the bound to continue below (or false).
local function newest_first(keys)
  if #keys == 1 then
    local got = redis.call('ZREVRANGEBYLEX', keys[1], high, low, 'LIMIT', 0, budget)
    if #got < budget then
      return got, false
    end
    return got, '(' .. got[#got]
  end
  -- Each key gives up to budget members. A key that gave that many may hold more below its
  -- last one, so the merge stops at the highest such last member (the cutoff).
  local lists, cutoff = {}, nil
  for i, key in ipairs(keys) do
    local got = redis.call('ZREVRANGEBYLEX', key, high, low, 'LIMIT', 0, budget)
    lists[i] = got
    if #got == budget and (cutoff == nil or before(cutoff, got[#got])) then
      cutoff = got[#got]
    end
  end
  local merged, position = {}, {}
  for i = 1, #lists do
    position[i] = 1
  end
  while true do
    local best, best_member = nil, nil
    for i, list in ipairs(lists) do
      local candidate = list[position[i]]
      if candidate ~= nil and (best == nil or before(best_member, candidate)) then
        best, best_member = i, candidate
      end
    end
    if best == nil or (cutoff ~= nil and before(best_member, cutoff)) then
      break
    end
    merged[#merged + 1] = best_member
    position[best] = position[best] + 1
  end
  if cutoff == nil then
    return merged, false
  end
  return merged, '(' .. cutoff
end

local groups, k = {}, 0
for g = 1, group_count do
  local keys = {}
  for i = 1, tonumber(ARGV[8 + g]) do
    k = k + 1
    keys[i] = KEYS[k]
  end
  groups[g] = keys
end

local driver, smallest = 1, nil
for g, keys in ipairs(groups) do
  local size = 0
  for _, key in ipairs(keys) do
    size = size + redis.call('ZLEXCOUNT', key, low, high)
  end
  if smallest == nil or size < smallest then
    driver, smallest = g, size
  end
end
if smallest == 0 then
  return {false, {}}
end

local members, next_high = newest_first(groups[driver])
local found = {}
for _, member in ipairs(members) do
  local wanted = true
  for g, keys in ipairs(groups) do
    if wanted and g ~= driver then
      wanted = false
      for _, key in ipairs(keys) do
        if redis.call('ZSCORE', key, member) then
          wanted = true
          break
        end
      end
    end
  end
  if wanted then
    local key = task_stem .. string.sub(member, offset)
    if mode == 'page' then
      local fields = redis.call('HMGET', key, unpack(RECORD_FIELDS))
      if fields[1] then
        found[#found + 1] = fields
        if #found >= want then
          return {false, found}
        end
      end
    else
      local fields = redis.call('HMGET', key, 'func', 'status', 'duration')
      if fields[1] then
        found[#found + 1] = fields
      end
    end
  end
end
return {next_high, found}
"""
)

#: The first ARGV[3] tasks of index KEYS[1], oldest first, as records. ARGV[1]: task stem,
#: ARGV[2]: where the id starts in a member.
OLDEST = (
    _RECORD_FIELDS
    + """
local members = redis.call('ZRANGEBYLEX', KEYS[1], '-', '+', 'LIMIT', 0, ARGV[3])
local records = {}
for _, member in ipairs(members) do
  local fields = redis.call('HMGET', ARGV[1] .. string.sub(member, tonumber(ARGV[2])),
    unpack(RECORD_FIELDS))
  if fields[1] then
    records[#records + 1] = fields
  end
end
return records
"""
)

#: The first ARGV[3] one-off runs of the due set KEYS[1] scored below ARGV[2] (microseconds),
#: soonest first, then by run key, as ONE_OFF_FIELDS. ARGV[1]: one-off stem. One script, so
#: the set and the hashes are read at one instant and one round trip.
ONE_OFFS_DUE = (
    _ONE_OFF_FIELDS
    + """
local run_keys = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[2], 'LIMIT', 0, ARGV[3])
local runs = {}
for _, run_key in ipairs(run_keys) do
  local fields = redis.call('HMGET', ARGV[1] .. run_key, unpack(ONE_OFF_FIELDS))
  if fields[1] then
    runs[#runs + 1] = fields
  end
end
return runs
"""
)

#: Sets the owner of task hash KEYS[1] to ARGV[1] if it is ARGV[2] (or has none, when ARGV[3]
#: is '1'). Returns 1 when it did.
CLAIM = """
if redis.call('EXISTS', KEYS[1]) == 0 then
  return 0
end
local current = redis.call('HGET', KEYS[1], 'owner')
if ARGV[3] == '1' then
  if current then
    return 0
  end
elseif current ~= ARGV[2] then
  return 0
end
redis.call('HSET', KEYS[1], 'owner', ARGV[1])
return 1
"""

#: Walks up to ARGV[5] members of the unfinished index KEYS[1] from bound ARGV[4] up, oldest
#: first, and gives owner ARGV[1] every task owned by nobody or by an instance not among
#: ARGV[7..], until ARGV[6] are taken. ARGV[2]: task stem, ARGV[3]: where the id starts.
#: Returns {bound to continue from, or nil when done; records taken}.
CLAIM_ORPHANS = (
    _RECORD_FIELDS
    + """
local owner, task_stem, offset = ARGV[1], ARGV[2], tonumber(ARGV[3])
local budget, want = tonumber(ARGV[5]), tonumber(ARGV[6])
local live = {}
for i = 7, #ARGV do
  live[ARGV[i]] = true
end
local members = redis.call('ZRANGEBYLEX', KEYS[1], ARGV[4], '+', 'LIMIT', 0, budget)
local taken = {}
for _, member in ipairs(members) do
  local key = task_stem .. string.sub(member, offset)
  local state = redis.call('HMGET', key, 'status', 'owner')
  local current = state[2]
  if state[1] and current ~= owner and not (current and live[current]) then
    redis.call('HSET', key, 'owner', owner)
    taken[#taken + 1] = redis.call('HMGET', key, unpack(RECORD_FIELDS))
    if #taken >= want then
      return {false, taken}
    end
  end
end
if #members < budget then
  return {false, taken}
end
return {'(' .. members[#members], taken}
"""
)

#: Binds idempotency key KEYS[1] (named ARGV[2]) to task ARGV[1] unless another task holds it
#: and is not stored yet or is stored in a status other than ARGV[5..]. ARGV[3]: task stem,
#: ARGV[4]: held-keys stem. Returns the id of the task holding the key afterwards.
RESERVE_KEY = """
local id, name = ARGV[1], ARGV[2]
local holder = redis.call('GET', KEYS[1])
if holder and holder ~= id then
  local status = redis.call('HGET', ARGV[3] .. holder, 'status')
  if not status then
    return holder
  end
  local releasing = false
  for i = 5, #ARGV do
    if ARGV[i] == status then
      releasing = true
    end
  end
  if not releasing then
    return holder
  end
  redis.call('SREM', ARGV[4] .. holder, name)
end
redis.call('SET', KEYS[1], id)
redis.call('SADD', ARGV[4] .. id, name)
return id
"""

#: Metrics from the counters, without visiting tasks. KEYS: functions, durations, duration
#: sums. ARGV[1]: counts stem, ARGV[2]: durations stem, ARGV[3]: the quantile, ARGV[4]
#: (optional): the only function to report. Returns {overall durations or nil; per function
#: {name, {status, count, ...}, duration sum, durations}}, durations being {count, min, max,
#: quantile} in microseconds ({0} when there are none). The quantile is the nearest rank,
#: computed as ``domain.metrics.nearest_rank`` does.
SUMMARY = """
local counts_stem, durations_stem, quantile = ARGV[1], ARGV[2], tonumber(ARGV[3])

local function spread(key)
  local count = redis.call('ZCARD', key)
  if count == 0 then
    return {0}
  end
  local rank = math.max(0, math.ceil(quantile * count) - 1)
  return {
    count,
    redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')[2],
    redis.call('ZRANGE', key, -1, -1, 'WITHSCORES')[2],
    redis.call('ZRANGE', key, rank, rank, 'WITHSCORES')[2],
  }
end

local names
if ARGV[4] then
  names = {ARGV[4]}
else
  names = redis.call('HKEYS', KEYS[1])
end
local functions = {}
for _, name in ipairs(names) do
  local counts = redis.call('HGETALL', counts_stem .. name)
  if #counts > 0 then
    functions[#functions + 1] = {
      name, counts, redis.call('HGET', KEYS[3], name) or '0', spread(durations_stem .. name),
    }
  end
end
if ARGV[4] then
  return {false, functions}
end
return {spread(KEYS[2]), functions}
"""

#: Takes lock KEYS[1] for owner ARGV[1] for ARGV[2] milliseconds, or extends it when ARGV[1]
#: holds it already. Returns 1 when ARGV[1] holds it afterwards.
ACQUIRE_LOCK = """
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return 1
end
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
"""

#: Deletes lock KEYS[1] if owner ARGV[1] holds it. Returns 1 when it did.
RELEASE_LOCK = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
"""

#: Tallies finished tasks by end-time bucket and status, over at most ARGV[8] members of the
#: end-time set KEYS[1] from score ARGV[6] (inclusive; the first ARGV[7] members at that score
#: were tallied by the previous call) up to ARGV[5] (exclusive). ARGV[1]: task stem, ARGV[2]:
#: window start, ARGV[3]: bucket width (both in microseconds), ARGV[4]: only this function
#: ('' for all). Returns {members visited, last score visited, members visited at that
#: score, {"<bucket>|<status>", count, ...}}.
ACTIVITY = """
local stem, start, width, only = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4]
local members = redis.call(
  'ZRANGEBYSCORE', KEYS[1], ARGV[6], '(' .. ARGV[5], 'WITHSCORES',
  'LIMIT', tonumber(ARGV[7]), tonumber(ARGV[8])
)
local tally, last, at_last = {}, false, 0
for i = 1, #members, 2 do
  local id, score = members[i], members[i + 1]
  local fields = redis.call('HMGET', stem .. id, 'status', 'func')
  if fields[1] and (only == '' or fields[2] == only) then
    local key = math.floor((tonumber(score) - start) / width) .. '|' .. fields[1]
    tally[key] = (tally[key] or 0) + 1
  end
  if score == last then
    at_last = at_last + 1
  else
    last, at_last = score, 1
  end
end
local flat = {}
for key, count in pairs(tally) do
  flat[#flat + 1] = key
  flat[#flat + 1] = count
end
return {#members / 2, last, at_last, flat}
"""
