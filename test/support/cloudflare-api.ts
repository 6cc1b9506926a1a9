/**
 * A local stand-in for Cloudflare's cache purge API (a real node:http server, scripted-server.ts),
 * which answers only a request of the documented shape, as Cloudflare's API reference and
 * "Purge by single-file" page give it
 * (https://developers.cloudflare.com/api/resources/cache/methods/purge/,
 * https://developers.cloudflare.com/cache/how-to/purge-cache/purge-by-single-file/):
 *
 *   POST /client/v4/zones/{zone_id}/purge_cache
 *   Authorization: Bearer {API token}          (a token with the zone's Cache Purge permission)
 *   Content-Type: application/json
 *   {"files": ["https://…", …]}                 (at most 100 URLs on Free/Pro/Business,
 *                                               https://developers.cloudflare.com/cache/how-to/purge-cache/)
 *
 * and answers with the v4 envelope `{"success": true, "errors": [], "messages": [], "result":
 * {"id": "…"}}`. A wrong token is refused as Cloudflare does (403, error 10000 "Authentication
 * error"); any other deviation from the shape is a 400 naming it, so an adapter that sends the wrong
 * request fails its test. `refuseNext` scripts the failures a test needs (429 with Retry-After, a
 * 5xx page, a stall).
 */
import { randomUUID } from "node:crypto";
import { type ScriptedAnswer, type ScriptedServer, startScriptedServer } from "./scripted-server.js";

export interface CloudflarePurgeApi {
  /** What CloudflareCachePurge takes as `apiBaseUrl`. */
  apiBaseUrl: string;
  /** The URLs of each accepted purge request, in order. */
  purges: string[][];
  /** Answers the next requests with these instead (then goes back to the documented behaviour). */
  refuseNext(...answers: (ScriptedAnswer | "stall")[]): void;
  server: ScriptedServer;
  close(): Promise<void>;
}

const MAX_FILES = 100;

export async function startCloudflarePurgeApi(options: { zoneId: string; apiToken: string }): Promise<CloudflarePurgeApi> {
  const purges: string[][] = [];
  const scripted: (ScriptedAnswer | "stall")[] = [];
  const stalls = new Set<() => void>();
  const envelope = (status: number, errors: { code: number; message: string }[]): ScriptedAnswer => ({
    status,
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ success: false, errors, messages: [], result: null }),
  });

  const server = await startScriptedServer(async (request) => {
    const next = scripted.shift();
    if (next === "stall") return new Promise<ScriptedAnswer>((resolve) => stalls.add(() => resolve("drop")));
    if (next) return next;
    if (request.method !== "POST" || request.url !== `/client/v4/zones/${options.zoneId}/purge_cache`) {
      return envelope(400, [{ code: 7003, message: `No route for ${request.method} ${request.url}` }]);
    }
    if (request.headers.authorization !== `Bearer ${options.apiToken}`) return envelope(403, [{ code: 10000, message: "Authentication error" }]);
    if (!String(request.headers["content-type"]).startsWith("application/json"))
      return envelope(400, [{ code: 6003, message: "content-type is not application/json" }]);
    let body: unknown;
    try {
      body = JSON.parse(request.body.toString("utf8"));
    } catch {
      return envelope(400, [{ code: 6003, message: "the body is not JSON" }]);
    }
    const files = (body as { files?: unknown }).files;
    const keys = body && typeof body === "object" ? Object.keys(body) : [];
    const valid =
      keys.length === 1 &&
      Array.isArray(files) &&
      files.length >= 1 &&
      files.length <= MAX_FILES &&
      files.every((file) => typeof file === "string" && URL.canParse(file) && new URL(file).protocol === "https:");
    if (!valid)
      return envelope(400, [{ code: 1012, message: `expected {"files": [1..${MAX_FILES} https URLs]}, got ${request.body.toString("utf8").slice(0, 200)}` }]);
    purges.push(files as string[]);
    return {
      status: 200,
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ success: true, errors: [], messages: [], result: { id: randomUUID().replaceAll("-", "") } }),
    };
  });

  return {
    apiBaseUrl: `${server.origin}/client/v4`,
    purges,
    refuseNext: (...answers) => scripted.push(...answers),
    server,
    close: async () => {
      for (const release of stalls) release();
      await server.close();
    },
  };
}
