// The real @upstash/redis client → the bridge → a real redis-server.

import type { Redis as UpstashRedis } from "@upstash/redis";
import { Redis as IORedis } from "ioredis";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type RedisServer, startRedisServer } from "../support/redis-server.js";
import { createUpstashTestClient, startUpstashBridge, type UpstashBridge } from "../support/upstash-bridge.js";

let server: RedisServer;
let bridge: UpstashBridge;
let client: UpstashRedis;
/** Direct connection, to check what really is in Redis. */
let direct: IORedis;

beforeAll(async () => {
  server = await startRedisServer();
  bridge = await startUpstashBridge({ redisUrl: server.url });
  client = createUpstashTestClient(bridge);
  direct = new IORedis(server.url, { lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => 50 });
  direct.on("error", () => {}); // the fault test stops the server under it
  await direct.connect();
});

afterAll(async () => {
  direct?.disconnect();
  await bridge?.close();
  await server?.close();
});

beforeEach(async () => {
  if (direct.status !== "ready") await new Promise((resolve) => direct.once("ready", resolve));
  await direct.flushall();
});

/** Same settings, but every command is its own HTTP request (POST / instead of /pipeline). */
function clientWithoutAutoPipelining(): UpstashRedis {
  return createUpstashTestClient(bridge, { enableAutoPipelining: false });
}

const TRICKY_VALUES: Record<string, string> = {
  integer: "123",
  leadingZero: "0123",
  float: "1.50",
  exponent: "1e3",
  negativeZero: "-0",
  bigInteger: "12345678901234567890",
  json: '{"a":1,"b":[true,null,"x"]}',
  jsonString: '"quoted"',
  null: "null",
  true: "true",
  empty: "",
  ok: "OK",
  looksLikeBase64: "T0s=",
  unicode: "héllo wörld ☃ — 日本語 😀",
  controlChars: "\u0000\u0001\u0002\u007f\r\n\t",
  latin1High: "\u00ff\u00fe\u0080",
  backslashes: 'C:\\path\\"quoted"',
  long: "x".repeat(100_000),
};

describe("upstash bridge: values", () => {
  it("round-trips values that look like numbers, JSON, null, OK, unicode and binary-ish strings", async () => {
    for (const [name, value] of Object.entries(TRICKY_VALUES)) {
      const key = `value:${name}`;
      expect(await client.set(key, value), name).toBe("OK");
      expect(await client.get(key), name).toBe(value);
      // What is stored is exactly the UTF-8 of the string.
      expect((await direct.getBuffer(key))?.equals(Buffer.from(value, "utf8")), name).toBe(true);
    }
  });

  it("round-trips through the non-auto-pipelined path (POST /) too, and many concurrent commands", async () => {
    const plain = clientWithoutAutoPipelining();
    const entries = Object.entries(TRICKY_VALUES);
    await Promise.all(entries.map(([name, value]) => plain.set(`plain:${name}`, value)));
    const got = await Promise.all(entries.map(([name]) => client.get(`plain:${name}`)));
    expect(got).toEqual(entries.map(([, value]) => value));
    expect(await plain.get("plain:json")).toBe(TRICKY_VALUES.json);
  });

  it("reads values written by ioredis, and missing keys are null", async () => {
    await direct.set("from-ioredis", "42");
    expect(await client.get("from-ioredis")).toBe("42");
    expect(await client.get("missing")).toBeNull();
    expect(await clientWithoutAutoPipelining().get("missing")).toBeNull();
  });

  it("number and boolean arguments are sent as strings; integers come back as numbers", async () => {
    expect(await client.set("n", 7)).toBe("OK");
    expect(await client.incrby("n", 5)).toBe(12);
    expect(await client.get("n")).toBe("12");
    expect(await client.set("ttl", "v", { ex: 60 })).toBe("OK");
    const ttl = await client.ttl("ttl");
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(60);
    expect(await client.set("nx", "first", { nx: true })).toBe("OK");
    expect(await client.set("nx", "second", { nx: true })).toBeNull();
    expect(await client.exists("n", "nx", "missing")).toBe(2);
  });

  it("HSET + HGETALL gives a flat [field, value, ...] array with automaticDeserialization false", async () => {
    expect(await client.hset("h", { count: "3", json: '{"x":1}', nothing: "null", uni: "ü☃" })).toBe(4);
    const flat = (await client.hgetall("h")) as unknown as string[];
    expect(Array.isArray(flat)).toBe(true);
    const asObject = Object.fromEntries(Array.from({ length: flat.length / 2 }, (_, i) => [flat[2 * i], flat[2 * i + 1]]));
    expect(asObject).toEqual({ count: "3", json: '{"x":1}', nothing: "null", uni: "ü☃" });
    expect(await client.hget("h", "count")).toBe("3");
    expect(await client.hincrby("h", "count", 2)).toBe(5);
    expect(await client.hgetall("missing-hash")).toEqual([]);
  });
});

describe("upstash bridge: pipelines and transactions", () => {
  it("runs an explicit pipeline", async () => {
    const results = await client.pipeline().set("p:a", "1").incr("p:a").get("p:a").hset("p:h", { f: "v" }).hgetall("p:h").get("p:missing").exec();
    expect(results).toEqual(["OK", 2, "2", 1, ["f", "v"], null]);
  });

  it("reports a failing command in a pipeline (throws by default, per-command with keepErrors)", async () => {
    await client.set("p:str", "text");
    await expect(client.pipeline().get("p:str").hget("p:str", "f").exec()).rejects.toThrow(/WRONGTYPE/);
    const kept = await client.pipeline().get("p:str").hget("p:str", "f").exec({ keepErrors: true });
    expect(kept[0]).toEqual({ error: undefined, result: "text" });
    expect(kept[1]?.error).toMatch(/^WRONGTYPE/);
  });

  it("runs a transaction atomically (multi-exec)", async () => {
    const results = await client.multi().set("t:a", "x").append("t:a", "yz").get("t:a").incr("t:n").exec();
    expect(results).toEqual(["OK", 3, "xyz", 1]);
    // A runtime error inside the transaction is reported for that command only.
    await expect(client.multi().set("t:b", "1").hget("t:a", "f").exec()).rejects.toThrow(/WRONGTYPE/);
    expect(await direct.get("t:b")).toBe("1");
  });

  it("auto-pipelines concurrent commands into one request and keeps per-command errors apart", async () => {
    await client.set("ap:str", "s");
    const [a, b, c] = await Promise.allSettled([client.get("ap:str"), client.hget("ap:str", "f"), client.incr("ap:n")]);
    expect(a).toEqual({ status: "fulfilled", value: "s" });
    expect(b.status).toBe("rejected");
    expect(String((b as PromiseRejectedResult).reason)).toMatch(/WRONGTYPE/);
    expect(c).toEqual({ status: "fulfilled", value: 1 });
  });
});

const NESTED_SCRIPT = `
local n = redis.call("INCR", KEYS[1])
return { n, { KEYS[1], ARGV[1] }, { { 2, "x" }, {} }, ARGV[2], 7 }
`;

describe("upstash bridge: Lua", () => {
  it("EVAL returns nested arrays and integers", async () => {
    const result = await client.eval(NESTED_SCRIPT, ["lua:n"], ["héllo", '{"j":1}']);
    expect(result).toEqual([1, ["lua:n", "héllo"], [[2, "x"], []], '{"j":1}', 7]);
  });

  it("createScript().exec falls back from EVALSHA to EVAL on NOSCRIPT, then uses EVALSHA", async () => {
    await direct.script("FLUSH");
    const script = client.createScript<unknown>(NESTED_SCRIPT);
    const plainScript = clientWithoutAutoPipelining().createScript<unknown>(NESTED_SCRIPT);
    // Not loaded yet: EVALSHA alone gets NOSCRIPT, via both request paths.
    await expect(script.evalsha(["lua:m"], ["a", "b"])).rejects.toThrow(/NOSCRIPT/);
    await expect(plainScript.evalsha(["lua:m"], ["a", "b"])).rejects.toThrow(/NOSCRIPT/);
    // exec: EVALSHA → NOSCRIPT → EVAL (which loads it).
    expect(await script.exec(["lua:m"], ["a", "b"])).toEqual([1, ["lua:m", "a"], [[2, "x"], []], "b", 7]);
    expect(await direct.script("EXISTS", script.sha1)).toEqual([1]);
    // Now EVALSHA works directly.
    expect(await script.evalsha(["lua:m"], ["c", "d"])).toEqual([2, ["lua:m", "c"], [[2, "x"], []], "d", 7]);
    expect(await plainScript.exec(["lua:m"], ["e", "f"])).toEqual([3, ["lua:m", "e"], [[2, "x"], []], "f", 7]);
  });

  it("a Lua redis.error_reply surfaces as a thrown error with its message", async () => {
    const failing = 'return redis.error_reply("QUOTA_EXCEEDED upload quota is 5 files")';
    await expect(client.eval(failing, [], [])).rejects.toThrow(/QUOTA_EXCEEDED upload quota is 5 files/);
    await expect(clientWithoutAutoPipelining().eval(failing, [], [])).rejects.toThrow(/QUOTA_EXCEEDED upload quota is 5 files/);
    // Through createScript: NOSCRIPT fallback, then the script's own error (not another NOSCRIPT).
    await direct.script("FLUSH");
    await expect(client.createScript(failing).exec([], [])).rejects.toThrow(/QUOTA_EXCEEDED upload quota is 5 files/);
    // A runtime Lua error too.
    await expect(client.eval('return redis.call("NOPE")', [], [])).rejects.toThrow(/Unknown Redis command/i);
  });
});

describe("upstash bridge: HTTP protocol", () => {
  it("rejects a wrong token", async () => {
    const wrong = createUpstashTestClient({ ...bridge, token: "not-the-token" });
    await expect(wrong.get("anything")).rejects.toThrow(/Unauthorized/);
    await expect(wrong.hgetall("anything")).rejects.toThrow(/Unauthorized/);
    const response = await fetch(bridge.url, { method: "POST", body: '["PING"]' });
    expect(response.status).toBe(401);
  });

  it("answers single commands as Upstash does: {result} or 400 {error}, base64 only when asked", async () => {
    const post = async (path: string, body: unknown, base64 = false) => {
      const response = await fetch(`${bridge.url}${path}`, {
        method: "POST",
        headers: {
          authorization: `Bearer ${bridge.token}`,
          "content-type": "application/json",
          ...(base64 ? { "upstash-encoding": "base64" } : {}),
        },
        body: JSON.stringify(body),
      });
      return { status: response.status, body: (await response.json()) as unknown };
    };
    expect(await post("/", ["SET", "raw", "ü", "EX", 100])).toEqual({ status: 200, body: { result: "OK" } });
    expect(await post("/", ["GET", "raw"])).toEqual({ status: 200, body: { result: "ü" } });
    expect(await post("/", ["get", "raw"], true)).toEqual({
      status: 200,
      body: { result: Buffer.from("ü").toString("base64") },
    });
    expect(await post("/", ["MGET", "raw", "nope"], true)).toEqual({
      status: 200,
      body: { result: [Buffer.from("ü").toString("base64"), null] },
    });
    const bad = await post("/", ["HGET", "raw", "f"]);
    expect(bad.status).toBe(400);
    expect(bad.body).toEqual({ error: expect.stringMatching(/^WRONGTYPE/) });
    expect(await post("/pipeline", [["INCR", "c"], ["NOSUCHCMD"]])).toEqual({
      status: 200,
      body: [{ result: 1 }, { error: expect.stringMatching(/unknown command/i) }],
    });
    // A command refused while queueing aborts the whole transaction.
    const aborted = await post("/multi-exec", [["INCR", "c"], ["NOSUCHCMD"]]);
    expect(aborted.status).toBe(400);
    expect(aborted.body).toEqual({ error: expect.stringMatching(/EXECABORT/) });
    expect(await direct.get("c")).toBe("1");
  });
});

describe("upstash bridge: Redis outage", () => {
  it("fails promptly while redis-server is down and works again after start()", async () => {
    await client.set("survivor", "before");
    await server.stop();
    try {
      for (const call of [() => client.get("survivor"), () => client.hgetall("h"), () => client.eval("return 1", [], [])]) {
        const started = performance.now();
        await expect(call()).rejects.toThrow(/unavailable/i);
        expect(performance.now() - started).toBeLessThan(2_000);
      }
    } finally {
      await server.start();
    }
    // Data is gone (no persistence) but the same client works again right away.
    expect(await client.get("survivor")).toBeNull();
    expect(await client.set("survivor", "after")).toBe("OK");
    expect(await client.get("survivor")).toBe("after");
  });
});

describe("upstash bridge: latency", () => {
  it("measures per-command latency (awaited one at a time)", async () => {
    const plain = clientWithoutAutoPipelining();
    const rounds = 100;
    const report: string[] = [];
    const time = async (label: string, fn: (i: number) => Promise<unknown>): Promise<number> => {
      for (let i = 0; i < 20; i++) await fn(i); // warm up
      const started = performance.now();
      for (let i = 0; i < rounds; i++) await fn(i);
      const perCommandMs = (performance.now() - started) / rounds;
      report.push(`${label} ${perCommandMs.toFixed(2)} ms`);
      return perCommandMs;
    };
    await time("ioredis direct GET", (i) => direct.get(`lat:${i}`));
    await time("upstash SET (auto-pipeline → /pipeline)", (i) => client.set(`lat:${i}`, "v"));
    await time("upstash GET (auto-pipeline → /pipeline)", (i) => client.get(`lat:${i}`));
    await time("upstash GET (POST /)", (i) => plain.get(`lat:${i}`));
    const script = client.createScript("return redis.call('INCR', KEYS[1])");
    const evalMs = await time("upstash createScript.exec (EVALSHA)", () => script.exec(["lat:n"], []));
    console.log(`[upstash-bridge] per awaited command: ${report.join("; ")}`);
    expect(evalMs).toBeLessThan(50);
  });
});
