/**
 * The Lua every area's scripts share (staging-scripts.ts, quota-scripts.ts, signature-scripts.ts,
 * media-scripts.ts, publishing-scripts.ts, multipart-scripts.ts, erasure-scripts.ts): fragments
 * spliced into scripts, and the one generic read. Each script is one atomic step; time is Redis
 * server time (`TIME`), never the caller's clock. Scripts answer with one JSON string so both
 * drivers (RESP through ioredis, JSON over HTTP through Upstash) decode replies identically.
 */
import { luaScript } from "./driver.js";

export const NOW = `
local __t = redis.call('TIME')
local now = tonumber(__t[1]) * 1000 + math.floor(tonumber(__t[2]) / 1000)
`;
/** Counters are integers kept as strings; a decrement never takes one below zero. */
export const COUNTERS = `
local function counter(hash, field) return tonumber(redis.call('HGET', hash, field)) or 0 end
local function setCounter(hash, field, value) redis.call('HSET', hash, field, string.format('%d', value)) end
local function subtract(hash, field, amount)
  if amount > 0 then setCounter(hash, field, math.max(0, counter(hash, field) - amount)) end
end
`;
/** Sliding-window rate limit on a sorted set of request times. */
export const RATE_LIMIT = `
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
/** KEYS: any string keys  →  their values as a JSON array ('' for a missing key). */
export const GET_MANY = luaScript(
  "get_many",
  `
local values = redis.call('MGET', unpack(KEYS))
for i = 1, #KEYS do if not values[i] then values[i] = '' end end
return cjson.encode(values)
`,
);
