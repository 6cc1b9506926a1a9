/** The Lua scripts of the signatures area (RedisSignatures, redis-signatures.ts): single-use signature tokens. */
import { luaScript } from "./driver.js";
import { NOW, RATE_LIMIT } from "./shared-scripts.js";

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
