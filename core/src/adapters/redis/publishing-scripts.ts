/** The Lua scripts of the publishing area (RedisPublishing, redis-publishing.ts): an org's published items. */
import { luaScript } from "./driver.js";
import { COUNTERS } from "./shared-scripts.js";

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
