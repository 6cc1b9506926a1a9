/**
 * The contract of the EdgeCache port, run against every adapter that can fail: the in-memory one
 * core's tests use, and Cloudflare's purge by URL against the local API stand-in
 * (support/cloudflare-api.ts, which accepts only the documented request). A purge resolves only once
 * confirmed; an unconfirmed one is DependencyUnavailableError("cdn") and confirms nothing.
 */
import { CloudflareCachePurge } from "@fitkit/core/adapters/cloudflare/cloudflare-cache-purge";
import { MemoryEdgeCache } from "@fitkit/core/adapters/memory/memory-edge-cache";
import { DependencyUnavailableError } from "@fitkit/core/errors";
import type { EdgeCache } from "@fitkit/core/publishing/edge-cache";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type CloudflarePurgeApi, startCloudflarePurgeApi } from "./support/cloudflare-api.js";

const ZONE = "fedcba9876543210fedcba9876543210";
const TOKEN = "contract-token";
let api: CloudflarePurgeApi;
beforeAll(async () => {
  api = await startCloudflarePurgeApi({ zoneId: ZONE, apiToken: TOKEN });
});
afterAll(() => api?.close());

interface Subject {
  cache: EdgeCache;
  /** URLs the edge confirmed purged so far. */
  purged(): string[];
  /** Makes the next purge go unconfirmed. */
  failNext(): void;
}

const ADAPTERS: [string, () => Subject][] = [
  [
    "memory",
    () => {
      const cache = new MemoryEdgeCache();
      return { cache, purged: () => [...cache.purged], failNext: () => (cache.failNext = true) };
    },
  ],
  [
    "cloudflare",
    () => {
      const before = api.purges.length;
      return {
        cache: new CloudflareCachePurge({ zoneId: ZONE, apiToken: TOKEN, timeoutMs: 2000, apiBaseUrl: api.apiBaseUrl }),
        purged: () => api.purges.slice(before).flat(),
        failNext: () => api.refuseNext({ status: 500, headers: { "content-type": "application/json" }, body: JSON.stringify({ success: false, errors: [] }) }),
      };
    },
  ],
];

const url = (n: number) => `https://media.fitkit.test/o/org_c/${String(n).padStart(32, "a")}/320.webp`;

describe.each(ADAPTERS)("edge cache contract: %s", (_name, make) => {
  it("a purge resolves once the edge confirmed every URL", async () => {
    const subject = make();
    await subject.cache.purge([url(1), url(2)]);
    expect(subject.purged()).toEqual([url(1), url(2)]);
  });

  it("an empty list is a purge of nothing (Cloudflare refuses an empty `files`: nothing is sent)", async () => {
    const subject = make();
    const requests = api.server.requests.length;
    await subject.cache.purge([]);
    expect({ purged: subject.purged(), requests: api.server.requests.length - requests }).toEqual({ purged: [], requests: 0 });
  });

  it("an unconfirmed purge is DependencyUnavailableError('cdn') and confirms nothing; the next one goes through", async () => {
    const subject = make();
    subject.failNext();

    const error = await subject.cache.purge([url(3)]).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(DependencyUnavailableError);
    expect((error as DependencyUnavailableError).dependency).toBe("cdn");
    expect(subject.purged()).toEqual([]);
    await subject.cache.purge([url(3)]);
    expect(subject.purged()).toEqual([url(3)]);
  });
});
