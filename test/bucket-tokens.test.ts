/**
 * Each bucket is reached with its own bucket-scoped write token (R2MediaWriter, R2ComplianceWriter),
 * as the deployed functions are configured — checked on the SigV4-checking embedded S3 server:
 * the media writer holds the server's real key and the compliance writer a key it does not know,
 * so a call that used the wrong token would succeed or fail the other way round.
 */
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConfigError } from "@fitkit/core/config";
import { DependencyUnavailableError } from "@fitkit/core/errors";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type EmbeddedS3, startEmbeddedS3 } from "../local/embedded-s3.js";
import { resourceVariables } from "../local/env.js";

let s3: EmbeddedS3;
let objectStore: typeof import("../functions/lib/deps/storage.js").objectStore;
let signerForBucket: typeof import("../functions/lib/deps/signer.js").signerForBucket;

const body = new TextEncoder().encode("scoped");
const put = (bucket: string) =>
  objectStore().put({ bucket, key: `t/${bucket}.txt`, body, contentType: "text/plain", checksumSha256: "bF4GsB5BotM2NhSuY8t5f3mPbaV2hIgGqEp7K4HhYJE=" });

beforeAll(async () => {
  s3 = await startEmbeddedS3({ directory: await mkdtemp(join(tmpdir(), "fitkit-s3-")), buckets: ["media-t", "compliance-t"] });
  const endpoint = { endpoint: s3.endpoint, region: s3.region };
  Object.assign(
    process.env,
    resourceVariables({
      MediaBucket: { name: "media-t" },
      ComplianceBucket: { name: "compliance-t" },
      R2MediaWriter: { ...endpoint, accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
      R2ComplianceWriter: { ...endpoint, accessKeyId: "COMPLIANCEONLY", secretAccessKey: "compliance-secret" },
      UploadSettings: {},
    }),
  );
  ({ objectStore } = await import("../functions/lib/deps/storage.js"));
  ({ signerForBucket } = await import("../functions/lib/deps/signer.js"));
});
afterAll(async () => {
  await s3?.close();
});

describe("credentials per bucket", () => {
  it("writes the media bucket with the media writer's token", async () => {
    expect(await put("media-t")).toMatchObject({ ok: true });
    expect(await objectStore().head("media-t", "t/media-t.txt")).toMatchObject({ size: body.length });
  });

  it("writes the compliance bucket with the compliance writer's token, never the media writer's", async () => {
    // The server does not know the compliance key: the request is refused, proving which key signed it.
    const error = await put("compliance-t").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DependencyUnavailableError);
    expect((error as Error & { cause: { name: string } }).cause.name).toBe("InvalidAccessKeyId");
  });

  it("signs GET URLs for a bucket with that bucket's writer", async () => {
    const url = new URL(await signerForBucket("compliance-t").presignGet({ bucket: "compliance-t", key: "k", expiresInSeconds: 60 }));
    expect(url.searchParams.get("X-Amz-Credential")).toMatch(/^COMPLIANCEONLY\//);
    const mediaUrl = new URL(await signerForBucket("media-t").presignGet({ bucket: "media-t", key: "k", expiresInSeconds: 60 }));
    expect(mediaUrl.searchParams.get("X-Amz-Credential")).toMatch(new RegExp(`^${s3.accessKeyId}/`));
  });

  it("holds no token for a bucket that is not linked, and says so", async () => {
    await expect(objectStore().head("someone-elses-bucket", "k")).rejects.toThrow(ConfigError);
    await expect(objectStore().head("someone-elses-bucket", "k")).rejects.toThrow('No bucket named "someone-elses-bucket" is linked to this function');
  });
});
