/**
 * The Lua scripts of the staging area (RedisStaging, redis-staging.ts): the life of an upload from
 * `stage` to consume or sweep, its work lists and the URL watch. The quota hash they reserve in and
 * the linked markers commit_consume writes are read by the other areas' scripts.
 */
import { luaScript } from "./driver.js";
import { COUNTERS, NOW, RATE_LIMIT } from "./shared-scripts.js";

/** A claim's reply: what it claimed, and the work list (KEYS[1]) still due by \`due\` with the age of its oldest entry. */
const CLAIM_REPLY = `
local function claimReply(now, due, claimed)
  local remaining = redis.call('ZCOUNT', KEYS[1], '-inf', due)
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  local overdue = 0
  if oldest[2] and tonumber(oldest[2]) <= due then overdue = due - tonumber(oldest[2]) end
  return cjson.encode({ now = now, claimed = claimed, remaining = remaining, oldestOverdueMs = overdue })
end
`;

/**
 * A user's bytes in flight: field `inflight:<userId>` of the org's quota hash, the user's share of
 * `reserved`. Added at stage and taken off by every step that takes the upload's bytes off
 * `reserved`; a field that reaches zero is removed. Org-owned records (no user) have no share.
 */

const IN_FLIGHT = `
local function inFlightField(r)
  local userId = r.userId
  if userId == nil or userId == cjson.null or userId == '' then return nil end
  return 'inflight:' .. userId
end
local function releaseInFlight(hash, r)
  local field = inFlightField(r)
  if not field then return end
  local left = counter(hash, field) - r.size
  if left > 0 then setCounter(hash, field, left) else redis.call('HDEL', hash, field) end
end
`;

/**
 * The URL watch (KEYS of the caller name `{fku}:url-watch`): a key stays listed until the upload's
 * deadline (its last URL's expiry plus the staging grace), whatever became of its record. The
 * member is a JSON array `[bucket, key, storageUploadId ('' = none), linkedKey ('' = none)]`: when
 * `linkedKey` still exists at the due time, the key is linked and left alone.
 */
const URL_WATCH = `
local function watchKey(watch, r, key, linkedKey)
  local storageUploadId = ''
  if type(r.multipart) == 'table' then storageUploadId = r.multipart.storageUploadId end
  redis.call('ZADD', watch, r.deadline, cjson.encode({ r.bucket, key, storageUploadId, linkedKey or '' }))
end
`;

/**
 * An erasure in progress (core/src/erasure/): field `erasing:<userId>` (one member) or `erasing:*`
 * (the whole org) of the org's quota hash, set and removed by the erasure scripts. While one is
 * set, stage and commit_consume refuse that user's (or any) uploads of the org.
 */
const ERASING = `
local function erasing(hash, userId)
  if redis.call('HEXISTS', hash, 'erasing:*') == 1 then return true end
  if userId == nil or userId == cjson.null or userId == '' then return false end
  return redis.call('HEXISTS', hash, 'erasing:' .. userId) == 1
end
`;

/**
 * KEYS: deadlines, quota, rate, replay, urlExpiries, record…
 * ARGV: lifetimeMs, defaultQuota, rateLimit (0 = none), rateWindowMs, rateMember, userInFlightCap (0 = none),
 *       urlLifetimeMs (0 = not listed), replayJson, replayTtlMs (0 = no replay), recordJson…
 * An erasure of the org or of a record's user refuses first (not even a stored reply answers: its
 * URLs would put bytes behind the erasure). Then a reply stored under the replay key answers:
 * nothing is checked, counted or staged.
 * The rate limit counts every request it lets through, staged or refused by a quota.
 */
export const STAGE = luaScript(
  "stage",
  `${NOW}${COUNTERS}${IN_FLIGHT}${RATE_LIMIT}${ERASING}
for i = 10, #ARGV do
  if erasing(KEYS[2], cjson.decode(ARGV[i]).userId) then return cjson.encode({ ok = false, reason = 'erasing' }) end
end
local replayTtl = tonumber(ARGV[9])
if replayTtl > 0 then
  local existing = redis.call('GET', KEYS[4])
  if existing then return cjson.encode({ ok = true, now = now, replayed = existing }) end
end
local limit = tonumber(ARGV[3])
local window = tonumber(ARGV[4])
if limit > 0 then
  local retryAfter = rateRetryAfter(KEYS[3], limit, window, now)
  if retryAfter then return cjson.encode({ ok = false, reason = 'rate_limited', retryAfterMs = retryAfter }) end
end
local records, total, byField = {}, 0, {}
for i = 10, #ARGV do
  local r = cjson.decode(ARGV[i])
  total = total + r.size
  records[#records + 1] = r
  local field = inFlightField(r)
  if field then byField[field] = (byField[field] or 0) + r.size end
end
local q = redis.call('HMGET', KEYS[2], 'used', 'reserved', 'quota')
local used, reserved = tonumber(q[1]) or 0, tonumber(q[2]) or 0
local quota = tonumber(q[3]) or tonumber(ARGV[2])
-- A request the quota refuses still counts towards the rate limit: refusals cost a slot too.
if used + reserved + total > quota then
  if limit > 0 then rateCount(KEYS[3], ARGV[5], window, now) end
  return cjson.encode({ ok = false, reason = 'quota_exceeded', limit = 'org_quota', limitBytes = quota, remainingBytes = math.max(0, quota - used - reserved) })
end
local cap = tonumber(ARGV[6])
if cap > 0 then
  for field, bytes in pairs(byField) do
    local held = counter(KEYS[2], field)
    if held + bytes > cap then
      if limit > 0 then rateCount(KEYS[3], ARGV[5], window, now) end
      return cjson.encode({ ok = false, reason = 'quota_exceeded', limit = 'user_in_flight', limitBytes = cap, remainingBytes = math.max(0, cap - held) })
    end
  end
end
setCounter(KEYS[2], 'reserved', reserved + total)
for field, bytes in pairs(byField) do setCounter(KEYS[2], field, counter(KEYS[2], field) + bytes) end
local deadline = now + tonumber(ARGV[1])
local urlLifetime = tonumber(ARGV[7])
for i, r in ipairs(records) do
  r.status = 'staged'
  r.deadline = deadline
  r.createdAt = now
  redis.call('SET', KEYS[5 + i], cjson.encode(r))
  redis.call('ZADD', KEYS[1], deadline, r.uploadId)
  if urlLifetime > 0 then redis.call('ZADD', KEYS[5], now + urlLifetime, r.uploadId) end
end
if limit > 0 then rateCount(KEYS[3], ARGV[5], window, now) end
if replayTtl > 0 then redis.call('SET', KEYS[4], ARGV[8], 'PX', replayTtl) end
return cjson.encode({ ok = true, now = now })
`,
);

/** KEYS: record×n. The records as stored ('' = none), in order. */
export const READ_UPLOADS = luaScript(
  "read_uploads",
  `
local records = {}
for i = 1, #KEYS do records[#records + 1] = redis.call('GET', KEYS[i]) or '' end
return cjson.encode(records)
`,
);

/** KEYS: replay, record…  →  { now, replay ('' = none), records ('' = unknown) } */
export const LOAD_FOR_CONSUME = luaScript(
  "load_for_consume",
  `${NOW}
local records = {}
for i = 2, #KEYS do records[#records + 1] = redis.call('GET', KEYS[i]) or '' end
return cjson.encode({ now = now, replay = redis.call('GET', KEYS[1]) or '', records = records })
`,
);

/**
 * KEYS: replay, deadlines, quota, record×n, linked×n, mediaOutbox, urlWatch
 * ARGV: orgId, userId ('' = org-owned), ownerType, storedJson, replayTtlSeconds, consumedTtlSeconds, finalKey×n,
 *       mediaJobJson×n ('' = nothing to process), outboxDelayMs
 * The media jobs enter the outbox in the same step as the links, due after outboxDelayMs: consume
 * hands them to the queue and acknowledges them before then; the sweeper re-drives the rest. Each
 * staged key goes on the URL watch until the old deadline (left alone then if still linked).
 * An erasure of the owner (or of the org) in progress fails every id with ERASURE_IN_PROGRESS.
 */
export const COMMIT_CONSUME = luaScript(
  "commit_consume",
  `
local existing = redis.call('GET', KEYS[1])
if existing then return cjson.encode({ ok = false, replay = existing }) end
${NOW}${COUNTERS}${IN_FLIGHT}${URL_WATCH}${ERASING}
local n = (#KEYS - 5) / 2
local failures, records = {}, {}
if erasing(KEYS[3], ARGV[2]) then
  for i = 1, n do failures[i] = { index = i, code = 'ERASURE_IN_PROGRESS' } end
  return cjson.encode({ ok = false, failures = failures })
end
for i = 1, n do
  local raw = redis.call('GET', KEYS[3 + i])
  local code = nil
  if not raw then
    code = 'NOT_FOUND'
  else
    local r = cjson.decode(raw)
    records[i] = r
    local userId = r.userId
    if userId == nil or userId == cjson.null then userId = '' end
    if r.orgId ~= ARGV[1] or userId ~= ARGV[2] or r.ownerType ~= ARGV[3] then
      code = 'FORBIDDEN'
    elseif r.status == 'consumed' then
      code = 'ALREADY_CONSUMED'
    elseif r.status ~= 'staged' or now >= r.deadline then
      code = 'EXPIRED'
    end
  end
  if code then failures[#failures + 1] = { index = i, code = code } end
end
if #failures > 0 then return cjson.encode({ ok = false, failures = failures }) end
local total = 0
for i = 1, n do
  local r = records[i]
  local linkedKey = nil
  if r.key == ARGV[6 + i] then linkedKey = KEYS[3 + n + i] end
  watchKey(KEYS[#KEYS], r, r.key, linkedKey)
  r.status = 'consumed'
  r.consumedAt = now
  r.key = ARGV[6 + i]
  total = total + r.size
  releaseInFlight(KEYS[3], r)
  redis.call('SET', KEYS[3 + i], cjson.encode(r), 'EX', tonumber(ARGV[6]))
  redis.call('ZREM', KEYS[2], r.uploadId)
  redis.call('SET', KEYS[3 + n + i], cjson.encode({ orgId = r.orgId, bucket = r.bucket, key = r.key, size = r.size }))
end
setCounter(KEYS[3], 'used', counter(KEYS[3], 'used') + total)
subtract(KEYS[3], 'reserved', total)
local outboxDue = now + tonumber(ARGV[7 + 2 * n])
for i = 1, n do
  local job = ARGV[6 + n + i]
  if job ~= '' then redis.call('ZADD', KEYS[#KEYS - 1], outboxDue, job) end
end
redis.call('SET', KEYS[1], ARGV[4], 'EX', tonumber(ARGV[5]))
return cjson.encode({ ok = true })
`,
);

/**
 * KEYS: deadlines, quota, urlWatch, record…  — drops staged records, gives back their reserved bytes
 * and puts their keys on the URL watch until their deadline.
 */
export const DISCARD_STAGED = luaScript(
  "discard_staged",
  `${COUNTERS}${IN_FLIGHT}${URL_WATCH}
local total = 0
for i = 4, #KEYS do
  local raw = redis.call('GET', KEYS[i])
  if raw then
    local r = cjson.decode(raw)
    if r.status == 'staged' then
      total = total + r.size
      releaseInFlight(KEYS[2], r)
      redis.call('DEL', KEYS[i])
      redis.call('ZREM', KEYS[1], r.uploadId)
      watchKey(KEYS[3], r, r.key, nil)
    end
  end
end
subtract(KEYS[2], 'reserved', total)
return cjson.encode({ ok = true, released = total })
`,
);

/**
 * KEYS: deadlines  ARGV: limit, leaseMs, uploadKeyPrefix
 * Record keys are only known inside the script; they share the hash tag of KEYS[1], so the
 * script stays within one cluster slot.
 */
export const CLAIM_EXPIRED = luaScript(
  "claim_expired",
  `${NOW}${CLAIM_REPLY}
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[1]))
local claimed = {}
local leaseUntil = now + tonumber(ARGV[2])
for _, id in ipairs(ids) do
  local key = ARGV[3] .. id
  local raw = redis.call('GET', key)
  if not raw then
    redis.call('ZREM', KEYS[1], id)
  else
    local r = cjson.decode(raw)
    if r.status == 'consumed' then
      redis.call('ZREM', KEYS[1], id)
    else
      r.status = 'claimed'
      r.claimedAt = now
      local encoded = cjson.encode(r)
      redis.call('SET', key, encoded)
      redis.call('ZADD', KEYS[1], leaseUntil, id)
      claimed[#claimed + 1] = encoded
    end
  end
end
return claimReply(now, now, claimed)
`,
);

/**
 * KEYS: deadlines, record×n, quota×n  ARGV: tombstoneTtlSeconds
 * Marks claimed records swept (kept a while as tombstones), unlists them, gives back their bytes —
 * unless the record was abandoned, whose bytes went back then.
 */
export const FINALISE_SWEPT = luaScript(
  "finalise_swept",
  `${COUNTERS}${IN_FLIGHT}
local n = (#KEYS - 1) / 2
local finalised, released = 0, 0
for i = 1, n do
  local raw = redis.call('GET', KEYS[1 + i])
  if raw then
    local r = cjson.decode(raw)
    if r.status == 'claimed' then
      r.status = 'swept'
      redis.call('SET', KEYS[1 + i], cjson.encode(r), 'EX', tonumber(ARGV[1]))
      redis.call('ZREM', KEYS[1], r.uploadId)
      if not r.abandonedAt then
        subtract(KEYS[1 + n + i], 'reserved', r.size)
        releaseInFlight(KEYS[1 + n + i], r)
        released = released + r.size
      end
      finalised = finalised + 1
    end
  end
end
return cjson.encode({ finalised = finalised, releasedBytes = released })
`,
);

/**
 * KEYS: urlExpiries  ARGV: limit, leaseMs, settleMs, uploadKeyPrefix
 * Leases still-staged uploads whose URL expired at least settleMs ago (score = URL expiry): the
 * entry is re-scored so it is due again after the lease; the record is not changed. Entries of
 * records gone or no longer staged are unlisted. Record keys are built inside, as in claim_expired.
 */
export const CLAIM_URL_EXPIRED = luaScript(
  "claim_url_expired",
  `${NOW}${CLAIM_REPLY}
local settle = tonumber(ARGV[3])
local cutoff = now - settle
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', cutoff, 'LIMIT', 0, tonumber(ARGV[1]))
local claimed = {}
local dueAgain = now + tonumber(ARGV[2]) - settle
for _, id in ipairs(ids) do
  local raw = redis.call('GET', ARGV[4] .. id)
  if raw and cjson.decode(raw).status == 'staged' then
    redis.call('ZADD', KEYS[1], dueAgain, id)
    claimed[#claimed + 1] = raw
  else
    redis.call('ZREM', KEYS[1], id)
  end
end
return claimReply(now, cutoff, claimed)
`,
);

/**
 * KEYS: urlExpiries, missingRecord×n, quota×n  ARGV: presentUploadId…
 * Still-staged records with no object become `abandoned` and give back their bytes (org and user);
 * every given record leaves the URL-expiry list. They stay on the deadline list.
 */
export const SETTLE_URL_EXPIRED = luaScript(
  "settle_url_expired",
  `${NOW}${COUNTERS}${IN_FLIGHT}
local n = (#KEYS - 1) / 2
local abandoned, released = 0, 0
for i = 1, n do
  local raw = redis.call('GET', KEYS[1 + i])
  if raw then
    local r = cjson.decode(raw)
    redis.call('ZREM', KEYS[1], r.uploadId)
    if r.status == 'staged' then
      r.status = 'abandoned'
      r.abandonedAt = now
      redis.call('SET', KEYS[1 + i], cjson.encode(r))
      subtract(KEYS[1 + n + i], 'reserved', r.size)
      releaseInFlight(KEYS[1 + n + i], r)
      abandoned = abandoned + 1
      released = released + r.size
    end
  end
end
for _, id in ipairs(ARGV) do redis.call('ZREM', KEYS[1], id) end
return cjson.encode({ abandoned = abandoned, releasedBytes = released })
`,
);

/**
 * KEYS: urlWatch  ARGV: limit, leaseMs
 * Leases up to N watched keys due by now (re-scored to now + lease); an entry whose linked marker
 * still exists is unlisted instead (a consumed key still linked is never deleted).
 */
export const CLAIM_WATCHED_KEYS = luaScript(
  "claim_watched_keys",
  `${NOW}
local members = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[1]))
local claimed = {}
local leaseUntil = now + tonumber(ARGV[2])
for _, member in ipairs(members) do
  local linkedKey = cjson.decode(member)[4]
  if linkedKey ~= '' and redis.call('EXISTS', linkedKey) == 1 then
    redis.call('ZREM', KEYS[1], member)
  else
    redis.call('ZADD', KEYS[1], leaseUntil, member)
    claimed[#claimed + 1] = member
  end
end
return cjson.encode({ now = now, claimed = claimed, remaining = redis.call('ZCOUNT', KEYS[1], '-inf', now) })
`,
);

/** KEYS: urlWatch  ARGV: member…  — unlists watched keys storage confirmed gone. */
export const FORGET_WATCHED_KEYS = luaScript(
  "forget_watched_keys",
  `
return cjson.encode({ forgotten = redis.call('ZREM', KEYS[1], unpack(ARGV)) })
`,
);

/**
 * KEYS: deadlines, record…  ARGV: holdMs
 * Consume's step before it copies into the retention lock: every record staged and before its
 * deadline, or nothing changes; then each deadline (and work-list score) is pushed to at least
 * now + hold, so the sweeper cannot claim the upload and the commit is not late.
 */
export const HOLD_FOR_PROMOTION = luaScript(
  "hold_for_promotion",
  `${NOW}
local failures, records = {}, {}
for i = 2, #KEYS do
  local raw = redis.call('GET', KEYS[i])
  local code = nil
  if not raw then
    code = 'NOT_FOUND'
  else
    local r = cjson.decode(raw)
    records[i] = r
    if r.status == 'consumed' then
      code = 'ALREADY_CONSUMED'
    elseif r.status ~= 'staged' or now >= r.deadline then
      code = 'EXPIRED'
    end
  end
  if code then failures[#failures + 1] = { index = i - 1, code = code } end
end
if #failures > 0 then return cjson.encode({ ok = false, failures = failures }) end
local heldUntil = now + tonumber(ARGV[1])
for i = 2, #KEYS do
  local r = records[i]
  if r.deadline < heldUntil then
    r.deadline = heldUntil
    redis.call('SET', KEYS[i], cjson.encode(r))
    redis.call('ZADD', KEYS[1], heldUntil, r.uploadId)
  end
end
return cjson.encode({ ok = true })
`,
);

/**
 * KEYS: deadlines, record  ARGV: extendMs, maxLifetimeMs
 * Moves a staged upload's deadline forward to min(now + extend, createdAt + maxLifetime), never back.
 */
export const EXTEND_STAGING = luaScript(
  "extend_staging",
  `${NOW}
local raw = redis.call('GET', KEYS[2])
if not raw then return cjson.encode({ ok = false, code = 'NOT_FOUND' }) end
local r = cjson.decode(raw)
if r.status == 'consumed' then return cjson.encode({ ok = false, code = 'ALREADY_CONSUMED' }) end
if r.status ~= 'staged' or now >= r.deadline then return cjson.encode({ ok = false, code = 'EXPIRED' }) end
local wanted = math.min(now + tonumber(ARGV[1]), r.createdAt + tonumber(ARGV[2]))
if wanted > r.deadline then
  r.deadline = wanted
  redis.call('SET', KEYS[2], cjson.encode(r))
  redis.call('ZADD', KEYS[1], wanted, r.uploadId)
end
return cjson.encode({ ok = true, deadline = r.deadline })
`,
);
