/**
 * The scanner Lambda's scan handler on real parts: a real clamd (support/clamd.ts, with its EICAR
 * test signature), objects on the SigV4-checking embedded S3 read through presigned GET URLs, and —
 * end to end — core's LambdaScanner whose Lambda client delivers the invoke to this handler.
 */
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PutObjectCommand } from "@aws-sdk/client-s3";
import { ClamdScanner } from "@fitkit/core/adapters/clamd/clamd-scanner";
import type { FunctionInvoker } from "@fitkit/core/adapters/lambda/lambda-http-invoker";
import { LambdaScanner } from "@fitkit/core/adapters/lambda/lambda-scanner";
import { FastUrlSigner } from "@fitkit/core/adapters/s3/fast-url-signer";
import { createS3Client } from "@fitkit/core/adapters/s3/s3-client";
import { DependencyUnavailableError } from "@fitkit/core/errors";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type EmbeddedS3, startEmbeddedS3 } from "../../local/embedded-s3.js";
import { type ClamdServer, EICAR, EICAR_SIGNATURE, startClamd } from "../../support/clamd.js";
import { pngImage } from "../../support/media.js";
import { readDefinitionsBuiltAt } from "../src/clamd-daemon.js";
import { handleScanRequest, type ScanDeps } from "../src/scan.js";

const BUCKET = "media-scan";
let clamd: ClamdServer;
let s3: EmbeddedS3;
let signer: FastUrlSigner;
let deps: ScanDeps;

const clean = pngImage(16, 16);
const infected = Buffer.concat([pngImage(4, 4), Buffer.from(EICAR, "latin1")]);
const url = (key: string) => signer.presignGet({ bucket: BUCKET, key, expiresInSeconds: 60 });

beforeAll(async () => {
  [clamd, s3] = await Promise.all([startClamd(), startEmbeddedS3({ directory: await mkdtemp(join(tmpdir(), "fitkit-s3-")), buckets: [BUCKET] })]);
  const settings = { endpoint: s3.endpoint, region: s3.region, accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey };
  signer = new FastUrlSigner(settings);
  const client = createS3Client(settings);
  for (const [key, body] of [
    ["clean.png", clean],
    ["infected.png", infected],
  ] as const) {
    await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body }));
  }
  deps = {
    scanner: async () => new ClamdScanner({ host: clamd.host, port: clamd.port }),
    sourceHostSuffix: "127.0.0.1",
    allowHttp: true,
    definitions: { builtAt: () => readDefinitionsBuiltAt(clamd), maxAgeSeconds: 48 * 3600 },
  };
});
afterAll(async () => {
  await Promise.all([clamd?.close(), s3?.close()]);
});

describe("a scan of a presigned URL", () => {
  it("is clean for a clean object and infected, with clamd's signature, for one that carries EICAR", async () => {
    expect(await handleScanRequest(deps, { url: await url("clean.png"), maxBytes: 1_000_000 })).toEqual({ verdict: "clean" });
    expect(await handleScanRequest(deps, { url: await url("infected.png"), maxBytes: 1_000_000 })).toEqual({ verdict: "infected", signature: EICAR_SIGNATURE });
  });

  it("reads only the first maxBytes (a Range request): EICAR past them is not seen", async () => {
    const beforeEicar = infected.length - EICAR.length;
    expect(await handleScanRequest(deps, { url: await url("infected.png"), maxBytes: beforeEicar })).toEqual({ verdict: "clean" });
  });

  it("answers an error, never clean, for a missing object or a URL whose signature storage refuses", async () => {
    expect(await handleScanRequest(deps, { url: await url("missing.png"), maxBytes: 100 })).toEqual({
      verdict: "error",
      reason: "could not read the object: storage answered HTTP 404",
    });
    const tampered = (await url("infected.png")).replace("X-Amz-Signature=", "X-Amz-Signature=0");
    expect(await handleScanRequest(deps, { url: tampered, maxBytes: 100 })).toEqual({
      verdict: "error",
      reason: "could not read the object: storage answered HTTP 403",
    });
  });

  it("refuses URLs outside the allowed storage hosts, and plain http unless allowed", async () => {
    const outside = (await url("clean.png")).replace("127.0.0.1", "localhost");
    const reason = "the URL's host is not an allowed storage host (*127.0.0.1, https)";
    expect(await handleScanRequest(deps, { url: outside, maxBytes: 100 })).toEqual({ verdict: "error", reason });
    expect(await handleScanRequest({ ...deps, allowHttp: false }, { url: await url("clean.png"), maxBytes: 100 })).toEqual({ verdict: "error", reason });
  });
});

describe("a scan of inline bytes", () => {
  it("is clean or infected like a stored object", async () => {
    expect(await handleScanRequest(deps, { bytesBase64: clean.toString("base64") })).toEqual({ verdict: "clean" });
    expect(await handleScanRequest(deps, { bytesBase64: infected.toString("base64") })).toEqual({ verdict: "infected", signature: EICAR_SIGNATURE });
  });
});

describe("when no verdict can be had", () => {
  it("a malformed request is an error reply", async () => {
    expect(await handleScanRequest(deps, { key: "clean.png" })).toEqual({
      verdict: "error",
      reason: "the request is neither { url, maxBytes } nor { bytesBase64 }",
    });
  });

  it("clamd not answering is an error reply naming it", async () => {
    const down = await startClamd();
    await down.stop();
    const reply = await handleScanRequest(
      { ...deps, scanner: async () => new ClamdScanner({ host: down.host, port: down.port }) },
      { bytesBase64: clean.toString("base64") },
    );
    await down.close();
    expect(reply).toEqual({ verdict: "error", reason: expect.stringMatching(/^could not connect to clamd at 127\.0\.0\.1:\d+: ECONNREFUSED$/) });
  });

  it("clamd failing to start is an error reply naming why", async () => {
    const reply = await handleScanRequest(
      {
        ...deps,
        scanner: async () => {
          throw new Error("the definitions bucket is empty");
        },
      },
      { bytesBase64: clean.toString("base64") },
    );
    expect(reply).toEqual({ verdict: "error", reason: "clamd is not available: the definitions bucket is empty" });
  });
});

describe("LambdaScanner → scanner handler → clamd, over the real protocol", () => {
  // The invoke is delivered to the real handler as Lambda would: JSON in, JSON out.
  const lambda: FunctionInvoker = {
    invoke: async (_functionName, payload) => ({ payload: new TextEncoder().encode(JSON.stringify(await handleScanRequest(deps, JSON.parse(payload)))) }),
  };
  const scanner = () => new LambdaScanner({ lambda, functionName: "scanner", signerFor: () => signer });

  async function* bytesOf(bytes: Uint8Array) {
    yield bytes;
  }

  it("scans a stored object by URL and inline content by value", async () => {
    expect(await scanner().scan(bytesOf(infected), { bucket: BUCKET, key: "infected.png", maxBytes: 1_000_000 })).toEqual({
      clean: false,
      signature: EICAR_SIGNATURE,
    });
    expect(await scanner().scan(bytesOf(clean), { bucket: BUCKET, key: "clean.png", maxBytes: 1_000_000 })).toEqual({ clean: true });
    expect(await scanner().scan(bytesOf(infected))).toEqual({ clean: false, signature: EICAR_SIGNATURE });
  });

  it("fails closed when the object cannot be read", async () => {
    const error = await scanner()
      .scan(bytesOf(clean), { bucket: BUCKET, key: "missing.png", maxBytes: 10 })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DependencyUnavailableError);
    expect((error as Error).cause).toMatchObject({ message: "the scanner gave no verdict: could not read the object: storage answered HTTP 404" });
  });
});
