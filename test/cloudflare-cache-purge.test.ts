/**
 * The Cloudflare cache-purge adapter against a local server that accepts only the request shape
 * Cloudflare's API documents (support/cloudflare-api.ts cites it): what it sends, how it splits long
 * lists, and how each refusal comes back — DependencyUnavailableError("cdn"), bounded in time,
 * with Cloudflare's reasons and never the token.
 */
import { CloudflareApiError, CloudflareCachePurge } from "@fitkit/core/adapters/cloudflare/cloudflare-cache-purge";
import { DependencyUnavailableError } from "@fitkit/core/errors";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type CloudflarePurgeApi, startCloudflarePurgeApi } from "./support/cloudflare-api.js";

const ZONE = "0123456789abcdef0123456789abcdef";
const TOKEN = "purge-token-do-not-log";
let api: CloudflarePurgeApi;
let requestsBefore = 0;

beforeAll(async () => {
  api = await startCloudflarePurgeApi({ zoneId: ZONE, apiToken: TOKEN });
});
afterAll(() => api?.close());
beforeEach(() => {
  api.purges.length = 0;
  requestsBefore = api.server.requests.length;
});

const adapter = (overrides: Partial<ConstructorParameters<typeof CloudflareCachePurge>[0]> = {}) =>
  new CloudflareCachePurge({ zoneId: ZONE, apiToken: TOKEN, timeoutMs: 2000, apiBaseUrl: api.apiBaseUrl, ...overrides });
const urls = (n: number) => Array.from({ length: n }, (_, i) => `https://media.fitkit.test/o/org_1/${String(i).padStart(32, "0")}/640.webp`);

/** The error a purge failed with, and what the cause says. */
async function failure(purge: Promise<void>) {
  const error = await purge.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(DependencyUnavailableError);
  expect((error as DependencyUnavailableError).dependency).toBe("cdn");
  const cause = (error as Error).cause;
  expect(cause).toBeInstanceOf(CloudflareApiError);
  return (cause as Error).message;
}

describe("CloudflareCachePurge", () => {
  it("purges by URL with the documented request: POST to the zone's purge_cache, a bearer token, {files}", async () => {
    await adapter().purge(urls(2));

    const [request] = api.server.requests.slice(requestsBefore);
    expect({
      method: request?.method,
      url: request?.url,
      authorization: request?.headers.authorization,
      contentType: request?.headers["content-type"],
      body: JSON.parse(String(request?.body)),
    }).toEqual({
      method: "POST",
      url: `/client/v4/zones/${ZONE}/purge_cache`,
      authorization: `Bearer ${TOKEN}`,
      contentType: "application/json",
      body: { files: urls(2) },
    });
    expect(api.purges).toEqual([urls(2)]);
  });

  it("sends at most 100 URLs a request, each URL once", async () => {
    const list = urls(250);
    await adapter().purge([...list, ...list.slice(0, 10)]);

    expect(api.purges.map((batch) => batch.length)).toEqual([100, 100, 50]);
    expect(api.purges.flat()).toEqual(list);
  });

  it("a token Cloudflare refuses is a cdn failure with Cloudflare's reason, never the token", async () => {
    const message = await failure(adapter({ apiToken: "wrong-token" }).purge(urls(1)));
    expect(message).toBe("Cloudflare refused the cache purge (HTTP 403): 10000 Authentication error");
    expect(message).not.toContain("wrong-token");
  });

  it("a rate limit says so, with Cloudflare's Retry-After", async () => {
    api.refuseNext({
      status: 429,
      headers: { "content-type": "application/json", "retry-after": "30" },
      body: JSON.stringify({ success: false, errors: [{ code: 1015, message: "You are being rate limited" }], messages: [], result: null }),
    });
    expect(await failure(adapter().purge(urls(1)))).toBe(
      "Cloudflare refused the cache purge (HTTP 429, rate-limited, retry after 30 s): 1015 You are being rate limited",
    );
  });

  it("an answer of 200 that reports no success is not a purge", async () => {
    api.refuseNext({ status: 200, headers: { "content-type": "application/json" }, body: JSON.stringify({ success: false, errors: [], messages: [] }) });
    expect(await failure(adapter().purge(urls(1)))).toBe("Cloudflare refused the cache purge (HTTP 200)");
  });

  it("a gateway page instead of the API's JSON is a failure that says so", async () => {
    api.refuseNext({ status: 502, headers: { "content-type": "text/html" }, body: "<html>Bad gateway</html>" });
    expect(await failure(adapter().purge(urls(1)))).toBe("Cloudflare refused the cache purge (HTTP 502): the answer was not JSON");
  });

  it("a stalled API fails within the bound instead of holding the unpublish", async () => {
    api.refuseNext("stall");
    expect(await failure(adapter({ timeoutMs: 300 }).purge(urls(1)))).toBe("Cloudflare did not answer the cache purge within 300 ms");
  });

  it("an unreachable API is a cdn failure naming the network error", async () => {
    const closed = await startCloudflarePurgeApi({ zoneId: ZONE, apiToken: TOKEN });
    await closed.close();
    expect(await failure(adapter({ apiBaseUrl: closed.apiBaseUrl }).purge(urls(1)))).toBe("could not reach Cloudflare's API: ECONNREFUSED");
  });

  it("refuses a zone id that is not one", () => {
    expect(() => adapter({ zoneId: "media.fitkit.test" })).toThrow('zoneId "media.fitkit.test" is not a Cloudflare zone id (32 hex digits)');
  });

  it("a later purge after a refusal goes through (nothing is remembered)", async () => {
    api.refuseNext({ status: 503, headers: {}, body: "" });
    await failure(adapter().purge(urls(1)));
    await adapter().purge(urls(1));
    expect(api.purges).toEqual([urls(1)]);
  });
});
