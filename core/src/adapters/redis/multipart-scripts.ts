/** The Lua script of the multipart area (RedisMultipart, redis-multipart.ts): a staged record's multipart plan. */
import { luaScript } from "./driver.js";

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
