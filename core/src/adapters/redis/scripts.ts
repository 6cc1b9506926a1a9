/**
 * The Lua scripts behind the staging store. Each is one atomic step; time is Redis server time
 * (`TIME`), never the caller's clock. Scripts answer with one JSON string so both drivers (RESP
 * through ioredis, JSON over HTTP through Upstash) decode replies identically.
 */
import { luaScript } from "./driver.js";

export const NOW = `
local __t = redis.call('TIME')
local now = tonumber(__t[1]) * 1000 + math.floor(tonumber(__t[2]) / 1000)
`;

/** Counters are integers kept as strings; a decrement never takes one below zero. */
const COUNTERS = `
local function counter(hash, field) return tonumber(redis.call('HGET', hash, field)) or 0 end
local function setCounter(hash, field, value) redis.call('HSET', hash, field, string.format('%d', value)) end
local function subtract(hash, field, amount)
  if amount > 0 then setCounter(hash, field, math.max(0, counter(hash, field) - amount)) end
end
`;

/** Sliding-window rate limit on a sorted set of request times. */
const RATE_LIMIT = `
local function rateRetryAfter(key, limit, window, now)
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
  if redis.call('ZCARD', key) < limit then return nil end
  local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
  return tonumber(oldest[2]) + window - now
end
local function rateCount(key, member, window, now)
  redis.call('ZADD', key, now, member)
  redis.call('PEXPIRE', key, window)
end
`;

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
export const ERASING = `
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

/** KEYS: any string keys  →  their values as a JSON array ('' for a missing key). */
export const GET_MANY = luaScript(
  "get_many",
  `
local values = redis.call('MGET', unpack(KEYS))
for i = 1, #KEYS do if not values[i] then values[i] = '' end end
return cjson.encode(values)
`,
);

/** KEYS: quota  ARGV: defaultQuota  →  { used, reserved, quota } */
export const USAGE = luaScript(
  "usage",
  `
local q = redis.call('HMGET', KEYS[1], 'used', 'reserved', 'quota')
return cjson.encode({ used = tonumber(q[1]) or 0, reserved = tonumber(q[2]) or 0, quota = tonumber(q[3]) or tonumber(ARGV[1]) })
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
 * KEYS: record…  ARGV: multipartJson…
 * Sets the multipart plan (storage's upload id, begun after `stage`) of each record still staged
 * and without one; answers the positions (1-based) it set.
 */
export const ATTACH_MULTIPART = luaScript(
  "attach_multipart",
  `
local attached = {}
for i = 1, #KEYS do
  local raw = redis.call('GET', KEYS[i])
  if raw then
    local r = cjson.decode(raw)
    if r.status == 'staged' and type(r.multipart) ~= 'table' then
      r.multipart = cjson.decode(ARGV[i])
      redis.call('SET', KEYS[i], cjson.encode(r))
      attached[#attached + 1] = i
    end
  end
end
return cjson.encode({ attached = attached })
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

/** KEYS: quota  →  { userId: bytes in flight } */
export const IN_FLIGHT_BY_USER = luaScript(
  "in_flight_by_user",
  `
local fields = redis.call('HGETALL', KEYS[1])
local result = {}
for i = 1, #fields, 2 do
  local userId = string.match(fields[i], '^inflight:(.*)$')
  if userId then result[userId] = tonumber(fields[i + 1]) end
end
return cjson.encode(result)
`,
);

/** How a stored token reads at `now`: used-and-expired tokens read as unknown (docs/API.md: 404). */
const TOKEN_STATE = `
local function tokenState(t, now)
  if not t then return 'unknown' end
  local expired = now >= t.expiresAt
  if t.uploadId and t.uploadId ~= cjson.null then
    if expired then return 'unknown' end
    return 'used'
  end
  if expired then return 'expired' end
  return 'valid'
end
`;

/** KEYS: token  ARGV: tokenJson, ttlMs, keepMs (how long after expiry it still answers EXPIRED) */
export const PUT_SIGNATURE_TOKEN = luaScript(
  "put_signature_token",
  `${NOW}
local t = cjson.decode(ARGV[1])
t.expiresAt = now + tonumber(ARGV[2])
redis.call('SET', KEYS[1], cjson.encode(t), 'PX', tonumber(ARGV[2]) + tonumber(ARGV[3]))
return cjson.encode({ expiresAt = t.expiresAt })
`,
);

/** KEYS: token, rate  ARGV: rateLimit, rateWindowMs, rateMember */
export const CHECK_SIGNATURE_TOKEN = luaScript(
  "check_signature_token",
  `${NOW}${TOKEN_STATE}${RATE_LIMIT}
local window = tonumber(ARGV[2])
local retryAfter = rateRetryAfter(KEYS[2], tonumber(ARGV[1]), window, now)
if retryAfter then return cjson.encode({ state = 'rate_limited', retryAfterMs = retryAfter }) end
rateCount(KEYS[2], ARGV[3], window, now)
local raw = redis.call('GET', KEYS[1])
local t = raw and cjson.decode(raw) or nil
return cjson.encode({ state = tokenState(t, now), token = raw or '' })
`,
);

/** Whether the token's pending direct upload is `uploadId`. */
const PENDING_IS = `
local function pendingIs(t, uploadId)
  return type(t.pendingUpload) == 'table' and t.pendingUpload.uploadId == uploadId
end
`;

/**
 * KEYS: token  ARGV: uploadId, pendingOnly ('1' or '0') — burns a valid token (with pendingOnly,
 * only for its pending direct upload, else answers not_pending); answers the state it found.
 */
export const USE_SIGNATURE_TOKEN = luaScript(
  "use_signature_token",
  `${NOW}${TOKEN_STATE}${PENDING_IS}
local raw = redis.call('GET', KEYS[1])
local t = raw and cjson.decode(raw) or nil
local state = tokenState(t, now)
if state == 'valid' then
  if ARGV[2] == '1' and not pendingIs(t, ARGV[1]) then return cjson.encode({ state = 'not_pending' }) end
  t.uploadId = ARGV[1]
  redis.call('SET', KEYS[1], cjson.encode(t), 'KEEPTTL')
end
return cjson.encode({ state = state })
`,
);

/** KEYS: token  ARGV: pendingJson — a valid token's pending direct upload becomes this one; answers the replaced one ('' when none). */
export const HOLD_PENDING_UPLOAD = luaScript(
  "hold_pending_upload",
  `${NOW}${TOKEN_STATE}
local raw = redis.call('GET', KEYS[1])
local t = raw and cjson.decode(raw) or nil
local state = tokenState(t, now)
if state ~= 'valid' then return cjson.encode({ state = state, replaced = '' }) end
local replaced = ''
if type(t.pendingUpload) == 'table' then replaced = cjson.encode(t.pendingUpload) end
t.pendingUpload = cjson.decode(ARGV[1])
redis.call('SET', KEYS[1], cjson.encode(t), 'KEEPTTL')
return cjson.encode({ state = state, replaced = replaced })
`,
);

/** KEYS: token  ARGV: uploadId — forgets the token's pending direct upload if it is this one. */
export const DROP_PENDING_UPLOAD = luaScript(
  "drop_pending_upload",
  `${PENDING_IS}
local raw = redis.call('GET', KEYS[1])
if not raw then return cjson.encode({ dropped = false }) end
local t = cjson.decode(raw)
if not pendingIs(t, ARGV[1]) then return cjson.encode({ dropped = false }) end
t.pendingUpload = nil
redis.call('SET', KEYS[1], cjson.encode(t), 'KEEPTTL')
return cjson.encode({ dropped = true })
`,
);

/** KEYS: quota, linked…  ARGV: orgId — deletes the org's linked markers, subtracts their sizes (and variant bytes) from used. */
export const UNLINK_OBJECTS = luaScript(
  "unlink_objects",
  `${COUNTERS}
local released, bytes = 0, 0
for i = 2, #KEYS do
  local raw = redis.call('GET', KEYS[i])
  if raw then
    local l = cjson.decode(raw)
    if l.orgId == ARGV[1] then
      redis.call('DEL', KEYS[i])
      released = released + 1
      bytes = bytes + l.size
      -- Processed variants count towards used (record_media) and are given back with their object.
      if type(l.media) == 'table' and l.media.variantBytes then bytes = bytes + l.media.variantBytes end
    end
  end
end
subtract(KEYS[1], 'used', bytes)
return cjson.encode({ released = released, bytes = bytes })
`,
);

/** KEYS: quota  ARGV: field, value */
export const SET_QUOTA_FIELD = luaScript(
  "set_quota_field",
  `
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return cjson.encode({ ok = true })
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

/**
 * `superseded(media)`: a recorded outcome that a new one may replace once — a video recorded
 * before its playback and original copies existed (a poster only). Mirrors `isSupersededOutcome`
 * (core/src/media/media-variants.ts); a video's record always has `durationMs` (null encodes as
 * cjson.null, not nil), an image's never.
 */
const SUPERSEDED_MEDIA = `
local function superseded(media)
  return media.status == 'ready' and media.durationMs ~= nil and (type(media.variants) ~= 'table' or media.variants.playback == nil)
end
`;

/**
 * KEYS: linked, quota  ARGV: orgId, mediaJson, variantBytes
 * Records a processing outcome on the link once; the variants' bytes join used in the same step.
 */
export const RECORD_MEDIA = luaScript(
  "record_media",
  `${COUNTERS}${SUPERSEDED_MEDIA}
local raw = redis.call('GET', KEYS[1])
if not raw then return cjson.encode({ linked = false, recorded = false }) end
local l = cjson.decode(raw)
if l.orgId ~= ARGV[1] then return cjson.encode({ linked = false, recorded = false }) end
local previous = 0
if type(l.media) == 'table' then
  if not superseded(l.media) then return cjson.encode({ linked = true, recorded = false }) end
  previous = tonumber(l.media.variantBytes) or 0
end
l.media = cjson.decode(ARGV[2])
local bytes = tonumber(ARGV[3])
if bytes > 0 then l.media.variantBytes = bytes end
redis.call('SET', KEYS[1], cjson.encode(l))
if bytes ~= previous then setCounter(KEYS[2], 'used', counter(KEYS[2], 'used') + bytes - previous) end
return cjson.encode({ linked = true, recorded = true })
`,
);

/** KEYS: mediaOutbox  ARGV: limit, leaseMs — leases due outbox jobs to this run (due again after the lease). */
export const CLAIM_MEDIA_JOBS = luaScript(
  "claim_media_jobs",
  `${NOW}
local jobs = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[1]))
local leaseUntil = now + tonumber(ARGV[2])
for _, job in ipairs(jobs) do redis.call('ZADD', KEYS[1], leaseUntil, job) end
return cjson.encode({ jobs = jobs })
`,
);

/** KEYS: mediaOutbox  ARGV: jobJson… */
export const ACK_MEDIA_JOBS = luaScript(
  "ack_media_jobs",
  `
redis.call('ZREM', KEYS[1], unpack(ARGV))
return cjson.encode({ ok = true })
`,
);

/**
 * KEYS: published, linked, quota  ARGV: orgId, uploadKey, itemJson, bytes
 * Records a published item once, only while the upload is linked to the org; its bytes join used in the same step.
 */
export const RECORD_PUBLISHED = luaScript(
  "record_published",
  `${COUNTERS}
local raw = redis.call('GET', KEYS[2])
if not raw or cjson.decode(raw).orgId ~= ARGV[1] then return cjson.encode({ linked = false, recorded = false, item = '' }) end
local existing = redis.call('HGET', KEYS[1], ARGV[2])
if existing then return cjson.encode({ linked = true, recorded = false, item = existing }) end
redis.call('HSET', KEYS[1], ARGV[2], ARGV[3])
local bytes = tonumber(ARGV[4])
if bytes > 0 then setCounter(KEYS[3], 'used', counter(KEYS[3], 'used') + bytes) end
return cjson.encode({ linked = true, recorded = true, item = ARGV[3] })
`,
);

/** KEYS: published, quota  ARGV: uploadKey — removes the record and gives its bytes back, once. */
export const REMOVE_PUBLISHED = luaScript(
  "remove_published",
  `${COUNTERS}
local raw = redis.call('HGET', KEYS[1], ARGV[1])
if not raw then return cjson.encode({ item = '' }) end
redis.call('HDEL', KEYS[1], ARGV[1])
local bytes = 0
for _, r in ipairs(cjson.decode(raw).renditions) do bytes = bytes + r.size end
subtract(KEYS[2], 'used', bytes)
return cjson.encode({ item = raw })
`,
);

/** KEYS: published  ARGV: uploadKey ('' = every item) — the records as JSON strings. */
export const GET_PUBLISHED = luaScript(
  "get_published",
  `
if ARGV[1] ~= '' then
  local raw = redis.call('HGET', KEYS[1], ARGV[1])
  return cjson.encode({ items = raw and { raw } or {} })
end
local all = redis.call('HGETALL', KEYS[1])
local items = {}
for i = 2, #all, 2 do items[#items + 1] = all[i] end
return cjson.encode({ items = items })
`,
);

/**
 * KEYS: mediaOutbox, linked×n  ARGV: jobJson×n
 * Adds each job due now, NX, when its object is linked to the job's org with no outcome recorded.
 */
export const SCHEDULE_MEDIA_JOBS = luaScript(
  "schedule_media_jobs",
  `${NOW}${SUPERSEDED_MEDIA}
local scheduled = 0
for i = 2, #KEYS do
  local raw = redis.call('GET', KEYS[i])
  if raw then
    local l = cjson.decode(raw)
    local job = ARGV[i - 1]
    if l.orgId == cjson.decode(job).orgId and (type(l.media) ~= 'table' or superseded(l.media)) then
      scheduled = scheduled + redis.call('ZADD', KEYS[1], 'NX', now, job)
    end
  end
end
return cjson.encode({ scheduled = scheduled })
`,
);
