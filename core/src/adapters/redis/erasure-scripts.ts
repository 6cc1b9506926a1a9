/**
 * The Lua scripts of the erasure port (core/src/erasure/erasure-store.ts; RedisErasures,
 * redis-erasures.ts), apart from the staging scripts they share keys with (the block is the
 * `erasing:` field of the org's quota hash, which `stage` and `commit_consume` read through
 * `ERASING` in staging-scripts.ts). Each is one atomic step answering one JSON string; time is
 * Redis server time.
 */
import { luaScript } from "./driver.js";
import { NOW } from "./shared-scripts.js";

/** The quota-hash field that blocks a scope: `erasing:<userId>`, or `erasing:*` for the whole org. */
const SCOPE_FIELD = `
local function scopeField(userId)
  if userId == nil or userId == cjson.null or userId == '' then return 'erasing:*' end
  return 'erasing:' .. userId
end
`;

/**
 * KEYS: erasure, quota  ARGV: orgId, userId ('' = the whole org)
 * A completed erasure answers its receipt; a running one its start; a new one starts running and
 * adds one to its scope's block (so two erasures of one scope lift it only when both completed).
 */
export const BEGIN_ERASURE = luaScript(
  "begin_erasure",
  `${NOW}${SCOPE_FIELD}
local raw = redis.call('GET', KEYS[1])
if raw then
  local e = cjson.decode(raw)
  if e.status == 'complete' then return cjson.encode({ state = 'complete', receipt = e.receipt }) end
  return cjson.encode({ state = 'running', startedAt = e.startedAt })
end
redis.call('SET', KEYS[1], cjson.encode({ status = 'running', startedAt = now, orgId = ARGV[1], userId = ARGV[2] }))
redis.call('HINCRBY', KEYS[2], scopeField(ARGV[2]), 1)
return cjson.encode({ state = 'running', startedAt = now })
`,
);

/**
 * KEYS: erasure, seen, tally  ARGV: objectJson… ({ b, k, t ('' = unknown), u ('' = none), s })
 * Only while running: each (bucket, key) counted once into its owner type's objects and bytes,
 * each upload id once into its uploads. Answers the totals.
 */
export const NOTE_ERASED = luaScript(
  "note_erased",
  `
local raw = redis.call('GET', KEYS[1])
if raw and cjson.decode(raw).status == 'running' then
  for i = 1, #ARGV do
    local o = cjson.decode(ARGV[i])
    if redis.call('HSETNX', KEYS[2], 'o:' .. o.b .. '/' .. o.k, '1') == 1 then
      local t = o.t
      if t == '' then t = 'unknown' end
      redis.call('HINCRBY', KEYS[3], 't:objects:' .. t, 1)
      redis.call('HINCRBY', KEYS[3], 't:bytes:' .. t, o.s)
      redis.call('HINCRBY', KEYS[3], 'objects', 1)
      redis.call('HINCRBY', KEYS[3], 'bytes', o.s)
      if o.u ~= '' and redis.call('HSETNX', KEYS[2], 'u:' .. o.u, '1') == 1 then redis.call('HINCRBY', KEYS[3], 't:uploads:' .. t, 1) end
    end
  end
end
local totals = redis.call('HMGET', KEYS[3], 'objects', 'bytes')
return cjson.encode({ objects = tonumber(totals[1]) or 0, bytes = tonumber(totals[2]) or 0 })
`,
);

/**
 * KEYS: erasure, retained  ARGV: listedMax, objectJson… ({ bucket, key, size, until })
 * Only while running: each (bucket, key) once into count, bytes and the latest until; the first
 * listedMax are kept as items `l:1…`.
 */
export const NOTE_RETAINED = luaScript(
  "note_retained",
  `
local raw = redis.call('GET', KEYS[1])
if not raw or cjson.decode(raw).status ~= 'running' then return cjson.encode({ ok = false }) end
local listedMax = tonumber(ARGV[1])
for i = 2, #ARGV do
  local o = cjson.decode(ARGV[i])
  if redis.call('HSETNX', KEYS[2], 'd:' .. o.bucket .. '/' .. o.key, '1') == 1 then
    local count = redis.call('HINCRBY', KEYS[2], 'count', 1)
    redis.call('HINCRBY', KEYS[2], 'bytes', o.size)
    if o['until'] > (tonumber(redis.call('HGET', KEYS[2], 'until')) or 0) then redis.call('HSET', KEYS[2], 'until', string.format('%d', o['until'])) end
    if count <= listedMax then redis.call('HSET', KEYS[2], 'l:' .. count, ARGV[i]) end
  end
end
return cjson.encode({ ok = true })
`,
);

/**
 * KEYS: deadlines  ARGV: cursor, count, uploadKeyPrefix, orgId, userId ('' = every upload of the org)
 * One ZSCAN step over the deadline list; the records of the scope found there. Record keys are
 * built inside the script from a prefix under the same hash tag (as claim_expired does).
 */
export const SCOPE_UPLOADS_IN_FLIGHT = luaScript(
  "scope_uploads_in_flight",
  `
local step = redis.call('ZSCAN', KEYS[1], ARGV[1], 'COUNT', tonumber(ARGV[2]))
local entries, uploads = step[2], {}
for i = 1, #entries, 2 do
  local raw = redis.call('GET', ARGV[3] .. entries[i])
  if raw then
    local u = cjson.decode(raw)
    if u.orgId == ARGV[4] and (ARGV[5] == '' or u.userId == ARGV[5]) then uploads[#uploads + 1] = raw end
  end
end
return cjson.encode({ cursor = step[1], uploads = uploads })
`,
);

/**
 * KEYS: erasure, seen, tally, retained, quota  ARGV: receiptTtlMs, reason, listedMax
 * Once: the receipt from the tally and the retained notes, stored in place of the running state
 * for the TTL; the notes dropped; one taken off the scope's block (removed at zero). A completed
 * erasure answers its receipt; one never begun answers none.
 */
export const FINISH_ERASURE = luaScript(
  "finish_erasure",
  `${NOW}${SCOPE_FIELD}
local raw = redis.call('GET', KEYS[1])
if not raw then return cjson.encode({ receipt = '' }) end
local e = cjson.decode(raw)
if e.status == 'complete' then return cjson.encode({ receipt = e.receipt }) end
local deleted = {}
local tally = redis.call('HGETALL', KEYS[3])
for i = 1, #tally, 2 do
  local kind, ownerType = string.match(tally[i], '^t:(%a+):(.+)$')
  if kind then
    deleted[ownerType] = deleted[ownerType] or { uploads = 0, objects = 0, bytes = 0 }
    deleted[ownerType][kind] = tonumber(tally[i + 1])
  end
end
local totals = redis.call('HMGET', KEYS[3], 'objects', 'bytes')
local kept = redis.call('HMGET', KEYS[4], 'count', 'bytes', 'until')
local count = tonumber(kept[1]) or 0
local items = {}
for i = 1, math.min(count, tonumber(ARGV[3])) do items[i] = cjson.decode(redis.call('HGET', KEYS[4], 'l:' .. i)) end
local receipt = cjson.encode({
  orgId = e.orgId,
  userId = e.userId,
  startedAt = e.startedAt,
  completedAt = now,
  deleted = deleted,
  objects = tonumber(totals[1]) or 0,
  bytes = tonumber(totals[2]) or 0,
  retained = { reason = ARGV[2], objects = count, bytes = tonumber(kept[2]) or 0, ['until'] = tonumber(kept[3]) or 0, items = items, truncated = count > #items },
})
redis.call('SET', KEYS[1], cjson.encode({ status = 'complete', receipt = receipt }), 'PX', tonumber(ARGV[1]))
redis.call('DEL', KEYS[2], KEYS[3], KEYS[4])
local field = scopeField(e.userId)
if redis.call('HINCRBY', KEYS[5], field, -1) <= 0 then redis.call('HDEL', KEYS[5], field) end
return cjson.encode({ receipt = receipt })
`,
);
