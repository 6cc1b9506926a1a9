// A small HTTP server speaking the part of Upstash's REST API that `@upstash/redis` uses, backed by
// ioredis on a real redis-server — so the real Upstash client runs against real Redis in tests.
//
// What the client (node_modules/@upstash/redis, pkg/http.ts) does, and what we answer:
// - POST <url>/            body: one command, a JSON array ["SET","k","v",...]
//   POST <url>/pipeline    body: [[cmd...], [cmd...]]   (auto-pipelining sends even a plain GET here)
//   POST <url>/multi-exec  body: [[cmd...], [cmd...]]   (redis.multi(): atomic)
//   Arguments are JSON strings, numbers or booleans: we send String(arg) to Redis.
// - Headers: `authorization: Bearer <token>` (401 otherwise); `Upstash-Encoding: base64` by default
//   (responseEncoding "base64"): every string in `result`, at any depth, is base64 of the raw bytes;
//   integers stay numbers, nil stays null. The client decodes with atob + TextDecoder (UTF-8).
// - Replies, as Upstash does:
//     single:     200 {result}            or 400 {error: "<redis message>"} (client throws UpstashError)
//     pipeline:   200 [{result}|{error}, ...]  (client throws "Command i [ cmd ] failed: <message>")
//     multi-exec: 200 [{result}|{error}, ...]; a transaction Redis refuses (EXECABORT) → 400 {error}
//   `error` is Redis' own message, e.g. "NOSCRIPT No matching script. Please use EVAL." — the
//   client's Script.exec falls back from EVALSHA to EVAL when the message contains "noscript".
// - Redis unreachable → 503 {error: "..."} (like a gateway whose backend is down), promptly: ioredis
//   has no offline queue and no per-request retries, so nothing waits for a reconnect.
//
// ioredis is used through `callBuffer` with upper-case command names: reply transformers are keyed by
// lower-case name (e.g. hgetall → object) so they never apply, and buffers keep the exact bytes.
// ioredis 5 speaks RESP2 only (it never sends HELLO 3), which is what Upstash returns (flat arrays).

import { randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { type RedisConfigNodejs, Redis as UpstashRedis } from "@upstash/redis";
import { Redis as IORedis } from "ioredis";

export interface UpstashBridge {
  /** http://127.0.0.1:PORT — pass as `url` to @upstash/redis. */
  url: string;
  token: string;
  close(): Promise<void>;
}

export interface UpstashBridgeOptions {
  /** redis://host:port of the real redis-server. */
  redisUrl: string;
  /** Bearer token the bridge accepts; random if omitted. */
  token?: string;
}

type Arg = string;
type Command = Arg[];
type Reply = null | number | Buffer | ReplyArray | Error;
interface ReplyArray extends Array<Reply> {}
type Json = null | number | string | Json[];
type CommandOutcome = { result: Json } | { error: string };

/** How long a request waits for ioredis to (re)connect before answering 503. */
const READY_WAIT_MS = 150;
const MAX_BODY_BYTES = 64 * 1024 * 1024;

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** An error Redis itself returned (ReplyError from redis-parser), as opposed to connection trouble. */
function isRedisReplyError(error: unknown): error is Error {
  return error instanceof Error && error.name === "ReplyError";
}

function toJson(reply: Reply, base64: boolean): Json {
  if (reply === null || reply === undefined) return null;
  if (typeof reply === "number") return reply;
  if (Buffer.isBuffer(reply)) return base64 ? reply.toString("base64") : reply.toString("utf8");
  if (Array.isArray(reply)) return reply.map((item) => toJson(item, base64));
  if (reply instanceof Error) {
    // Only inside arrays (e.g. an EXEC reply) can Redis nest an error; Upstash has no way to
    // express that, so it becomes the message string.
    return base64 ? Buffer.from(reply.message, "utf8").toString("base64") : reply.message;
  }
  // Anything else (ioredis shouldn't produce it): stringify.
  const text = String(reply);
  return base64 ? Buffer.from(text, "utf8").toString("base64") : text;
}

function parseCommand(value: unknown): Command {
  if (!Array.isArray(value) || value.length === 0) {
    throw new HttpError(400, "ERR command must be a non-empty JSON array");
  }
  return value.map((arg) => {
    if (typeof arg === "string") return arg;
    if (typeof arg === "number" || typeof arg === "boolean") return String(arg);
    throw new HttpError(400, `ERR unsupported argument type: ${arg === null ? "null" : typeof arg}`);
  });
}

function parseCommandList(value: unknown): Command[] {
  if (!Array.isArray(value) || value.length === 0) {
    throw new HttpError(400, "ERR body must be a non-empty JSON array of commands");
  }
  return value.map(parseCommand);
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buffer = chunk as Buffer;
    size += buffer.length;
    if (size > MAX_BODY_BYTES) throw new HttpError(413, "ERR request body too large");
    chunks.push(buffer);
  }
  return Buffer.concat(chunks).toString("utf8");
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(text),
  });
  res.end(text);
}

export async function startUpstashBridge(options: UpstashBridgeOptions): Promise<UpstashBridge> {
  const token = options.token ?? randomBytes(16).toString("hex");

  const redis = new IORedis(options.redisUrl, {
    lazyConnect: true,
    // Fail fast when Redis is down instead of queueing commands until it comes back.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    // Never re-send a command after a reconnect: its HTTP request has already failed, and a
    // write replayed later would be a surprise to the test.
    autoResendUnfulfilledCommands: false,
    connectTimeout: 1_000,
    commandTimeout: 5_000,
    // Keep trying to reconnect (a test may start Redis again), every 50 ms.
    retryStrategy: () => 50,
  });
  let lastConnectionError = "";
  redis.on("error", (error: Error) => {
    // Expected while Redis is down (ECONNREFUSED on each reconnect attempt); surfaced via 503s.
    lastConnectionError = error.message;
  });
  await redis.connect();

  let closing = false;

  // A function, not an inline comparison: TS would keep the narrowing across the await below.
  const isReady = (): boolean => redis.status === "ready";

  async function ensureReady(): Promise<void> {
    if (isReady()) return;
    if (closing || redis.status === "end") throw new HttpError(503, "Redis connection is closed");
    // Reconnecting: give a just-restarted server a moment, then give up.
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, READY_WAIT_MS);
      function done(): void {
        clearTimeout(timer);
        redis.removeListener("ready", done);
        resolve();
      }
      redis.once("ready", done);
    });
    if (!isReady()) {
      throw new HttpError(503, `Redis is unavailable (${redis.status}${lastConnectionError ? `: ${lastConnectionError}` : ""})`);
    }
  }

  /** Connection trouble (not a Redis reply error) → 503 for the whole request. */
  function unavailable(error: unknown): HttpError {
    const message = error instanceof Error ? error.message : String(error);
    return new HttpError(503, `Redis is unavailable: ${message}`);
  }

  async function runSingle(command: Command, base64: boolean): Promise<{ status: number; body: CommandOutcome }> {
    const [name, ...args] = command as [string, ...string[]];
    try {
      const reply = (await redis.callBuffer(name.toUpperCase(), ...args)) as Reply;
      return { status: 200, body: { result: toJson(reply, base64) } };
    } catch (error) {
      if (isRedisReplyError(error)) return { status: 400, body: { error: error.message } };
      throw unavailable(error);
    }
  }

  async function runPipeline(commands: Command[], base64: boolean): Promise<CommandOutcome[]> {
    const pipeline = redis.pipeline();
    for (const [name, ...args] of commands as [string, ...string[]][]) {
      pipeline.callBuffer(name.toUpperCase(), ...args);
    }
    let results: [Error | null, unknown][] | null;
    try {
      results = await pipeline.exec();
    } catch (error) {
      throw unavailable(error);
    }
    if (!results) throw unavailable(new Error("pipeline returned no results"));
    return results.map(([error, reply]) => {
      if (error) {
        if (isRedisReplyError(error)) return { error: error.message };
        throw unavailable(error);
      }
      return { result: toJson(reply as Reply, base64) };
    });
  }

  async function runMultiExec(commands: Command[], base64: boolean): Promise<{ status: number; body: unknown }> {
    // MULTI, the commands and EXEC go out in one write on our single connection, so no other
    // request's command can land inside the transaction.
    const pipeline = redis.pipeline();
    pipeline.callBuffer("MULTI");
    for (const [name, ...args] of commands as [string, ...string[]][]) {
      pipeline.callBuffer(name.toUpperCase(), ...args);
    }
    pipeline.callBuffer("EXEC");
    let results: [Error | null, unknown][] | null;
    try {
      results = await pipeline.exec();
    } catch (error) {
      throw unavailable(error);
    }
    const last = results?.[results.length - 1];
    if (!results || !last) throw unavailable(new Error("transaction returned no results"));
    for (const [error] of results) {
      if (error && !isRedisReplyError(error)) throw unavailable(error);
    }
    const [execError, execReply] = last;
    if (execError) {
      // EXECABORT: a command was refused while queueing (wrong arity, unknown command...).
      // Report the first queueing error, as Redis' EXECABORT message alone says little.
      const queued = results.slice(1, -1).find(([error]) => error);
      const detail = queued?.[0] ? ` (${queued[0].message})` : "";
      return { status: 400, body: { error: `${execError.message}${detail}` } };
    }
    if (execReply === null) {
      return { status: 400, body: { error: "EXECABORT Transaction discarded (watched key changed)" } };
    }
    const replies = execReply as ReplyArray;
    return {
      status: 200,
      body: replies.map((reply): CommandOutcome => (reply instanceof Error ? { error: reply.message } : { result: toJson(reply, base64) })),
    };
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? "/", "http://bridge").pathname.replace(/\/+$/, "") || "/";
    if (req.method !== "POST") throw new HttpError(405, `ERR method ${req.method ?? "?"} not allowed (only POST is bridged)`);
    if (req.headers.authorization !== `Bearer ${token}`) {
      // Drain the body so keep-alive connections stay usable.
      await readBody(req).catch(() => undefined);
      throw new HttpError(401, "Unauthorized");
    }
    const base64 = String(req.headers["upstash-encoding"] ?? "").toLowerCase() === "base64";
    const text = await readBody(req);
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw new HttpError(400, "ERR request body is not valid JSON");
    }

    if (path === "/") {
      const command = parseCommand(body);
      await ensureReady();
      const { status, body: reply } = await runSingle(command, base64);
      send(res, status, reply);
    } else if (path === "/pipeline") {
      const commands = parseCommandList(body);
      await ensureReady();
      send(res, 200, await runPipeline(commands, base64));
    } else if (path === "/multi-exec") {
      const commands = parseCommandList(body);
      await ensureReady();
      const { status, body: reply } = await runMultiExec(commands, base64);
      send(res, status, reply);
    } else {
      throw new HttpError(404, `ERR path ${path} is not bridged (only /, /pipeline, /multi-exec)`);
    }
  }

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      const status = error instanceof HttpError ? error.status : 500;
      const message = error instanceof Error ? error.message : String(error);
      if (!res.headersSent) send(res, status, { error: message });
      else res.destroy();
    });
  });
  server.keepAliveTimeout = 5_000;

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      server.removeListener("error", reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;

  let closed: Promise<void> | undefined;
  return {
    url: `http://127.0.0.1:${port}`,
    token,
    close: () =>
      (closed ??= (async () => {
        closing = true;
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        });
        redis.disconnect();
      })()),
  };
}

/**
 * A real @upstash/redis client pointed at the bridge, with the settings our code uses:
 * - automaticDeserialization: false — values come back exactly as stored ("123", "null" and JSON
 *   stay strings; HGETALL is a flat [field, value, ...] array); we own our encoding.
 * - retry: false — one attempt: an outage fails in milliseconds instead of ~seconds of backoff.
 * - enableTelemetry: false — no telemetry headers.
 * Everything else is the library default: base64 response encoding, auto-pipelining on (so single
 * commands go to /pipeline), read-your-writes sync token.
 */
export function createUpstashTestClient(bridge: UpstashBridge, overrides: Partial<RedisConfigNodejs> = {}): UpstashRedis {
  return new UpstashRedis({
    url: bridge.url,
    token: bridge.token,
    automaticDeserialization: false,
    retry: false,
    enableTelemetry: false,
    ...overrides,
  });
}
