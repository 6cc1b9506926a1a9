/**
 * What the deployed unpublish and release get as their edge cache (functions/lib/deps/publishing.ts),
 * read from the `PublicMedia` link as SST delivers it: Cloudflare's purge for the zone the stack
 * links (a stage with a public media domain, stacks/links.ts). The link without `cachePurge` (r2.dev,
 * the local stack) is covered through the handlers in linked-resources.test.ts.
 */
import { CloudflareCachePurge } from "@fitkit/core/adapters/cloudflare/cloudflare-cache-purge";
import { beforeAll, describe, expect, it } from "vitest";
import { resourceVariables } from "../local/env.js";

let edgeCache: typeof import("../functions/lib/deps/publishing.js").edgeCache;

beforeAll(async () => {
  Object.assign(
    process.env,
    resourceVariables({
      App: { name: "fitkit-uploads", stage: "edge-cache" },
      UploadSettings: { dependencyTimeoutMs: 1500 },
      PublicMedia: {
        name: "public-bucket",
        baseUrl: "https://media.fitkit.test/",
        endpoint: "https://0f1e2d3c4b5a69788796a5b4c3d2e1f0.r2.cloudflarestorage.com",
        accessKeyId: "k",
        secretAccessKey: "s",
        cachePurge: { zoneId: "0123456789abcdef0123456789abcdef", apiToken: "purge-token" },
      },
    }),
  );
  ({ edgeCache } = await import("../functions/lib/deps/publishing.js"));
});

describe("the edge cache of a stage with a public media domain", () => {
  it("is Cloudflare's purge for the linked zone, once per container", () => {
    expect(edgeCache()).toBeInstanceOf(CloudflareCachePurge);
    expect(edgeCache()).toBe(edgeCache());
  });
});
