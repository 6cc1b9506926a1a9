/** The Lua scripts of the media area (RedisMedia, redis-media.ts): processing outcomes on linked markers, and the media outbox. */
import { luaScript } from "./driver.js";
import { COUNTERS, NOW } from "./shared-scripts.js";

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
