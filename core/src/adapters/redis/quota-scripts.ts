/** The Lua scripts of the quotas area (RedisQuotas, redis-quotas.ts): the org's quota hash and its linked markers. */
import { luaScript } from "./driver.js";
import { COUNTERS } from "./shared-scripts.js";

/** KEYS: quota  ARGV: defaultQuota  →  { used, reserved, quota } */
export const USAGE = luaScript(
  "usage",
  `
local q = redis.call('HMGET', KEYS[1], 'used', 'reserved', 'quota')
return cjson.encode({ used = tonumber(q[1]) or 0, reserved = tonumber(q[2]) or 0, quota = tonumber(q[3]) or tonumber(ARGV[1]) })
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
