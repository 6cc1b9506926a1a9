/**
 * The lean S3 client consume uses (`S3HttpObjectStore`) beside the SDK adapter (`S3ObjectStore`
 * on `createS3Client`): on a scripted server, both send the same request for each call (method,
 * path, query, headers, body — all but the SDK's own bookkeeping headers), answer the same storage
 * replies with the same outcome (value, null or DependencyUnavailableError) after the same number
 * of attempts, and give up on a silent server within the same bound; on the real SigV4-checking
 * server, keys that URI encoding can get wrong round-trip and a wrong secret is refused. The port's
 * contract itself runs against the lean store in object-store.contract.test.ts.
 */
import { mkdtemp } from "node:fs/promises";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PutObjectCommand } from "@aws-sdk/client-s3";
import { createS3Client } from "@fitkit/core/adapters/s3/s3-client";
import type { ObjectReadCopyDelete } from "@fitkit/core/adapters/s3/s3-http-object-store";
import { S3HttpObjectStore } from "@fitkit/core/adapters/s3/s3-http-object-store";
import { S3ObjectStore } from "@fitkit/core/adapters/s3/s3-object-store";
import { S3_MAX_ATTEMPTS } from "@fitkit/core/adapters/s3/s3-retries";
import { DependencyUnavailableError } from "@fitkit/core/errors";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type EmbeddedS3, startEmbeddedS3 } from "../local/embedded-s3.js";
import { uniqueId } from "./support/fixtures.js";
import { type RecordedRequest, type ScriptedAnswer, startScriptedServer, storageXml } from "./support/scripted-server.js";

const BUCKET = "lean-s3";
const OTHER_BUCKET = "lean-s3-records";
/** A key with what URI and XML encoding can get wrong. */
const KEY = "incoming/org 1/é+ü&'<\">~!*()$,;=@[]/ä 中.png";
/** What the embedded server handles as S3 does (non-ASCII and most reserved characters). */
const SERVER_KEY = "incoming/org 1/é+ü&'~!*()$,;=@[]/ä 中.png";
/**
 * A key the embedded server copies and deletes right: it mangles + & $ , ; = @ in
 * `x-amz-copy-source` and escapes & and ' twice in the DeleteObjects answer (for the SDK as well).
 */
const SERVER_COPY_SOURCE = "incoming/org 1/ä 中 [1] (x)!*~.png";
const credentials = { region: "auto", accessKeyId: "lean-test-key", secretAccessKey: "lean-test-secret" };
const TIMEOUT_MS = 300;

/** The same storage call on either store, its outcome reduced to a comparable value. */
type Call = (objects: ObjectReadCopyDelete) => Promise<unknown>;
const CALLS: Record<string, Call> = {
  head: (objects) => objects.head(BUCKET, KEY),
  readFirstBytes: async (objects) => {
    const bytes = await objects.readFirstBytes(BUCKET, KEY, 4100);
    return bytes && Buffer.from(bytes).toString();
  },
  stream: async (objects) => {
    const stream = await objects.stream(BUCKET, KEY, 1 << 20);
    if (!stream) return null;
    const chunks: Uint8Array[] = [];
    for await (const chunk of stream) chunks.push(chunk);
    return Buffer.concat(chunks).toString();
  },
  copy: (objects) => objects.copy(BUCKET, KEY, "records/org 1/ä.png", OTHER_BUCKET),
  deleteObjects: (objects) => objects.deleteObjects(BUCKET, [KEY, "other key"]),
};

/** What storage answers each call with when it succeeds. */
const SUCCESS: Record<string, ScriptedAnswer> = {
  head: {
    status: 200,
    headers: {
      "content-length": "4",
      "content-type": "image/png",
      etag: '"abc"',
      "x-amz-checksum-sha256": "n4bQgYhMfWWaL+qgxVrQFaO/TxsrC4Is0V1sFbDwCgg=",
      "cache-control": "no-cache",
      "content-disposition": 'attachment; filename="a.html"',
      expires: "Thu, 01 Dec 2044 16:00:00 GMT",
      "x-amz-meta-form-id": "form_1",
    },
  },
  readFirstBytes: { status: 206, headers: { "content-range": "bytes 0-3/4" }, body: "\x89PNG" },
  stream: { status: 206, headers: { "content-range": "bytes 0-3/4" }, body: "\x89PNG" },
  copy: {
    status: 200,
    body: '<?xml version="1.0" encoding="UTF-8"?><CopyObjectResult><LastModified>2026-01-01T00:00:00.000Z</LastModified><ETag>&quot;abc&quot;</ETag></CopyObjectResult>',
  },
  deleteObjects: {
    status: 200,
    body: `<?xml version="1.0" encoding="UTF-8"?><DeleteResult><Deleted><Key>${KEY.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;").replace(/'/g, "&apos;")}</Key></Deleted><Error><Key>other key</Key><Code>InternalError</Code><Message>x</Message></Error></DeleteResult>`,
  },
};

/** Both stores on one scripted server, the SDK's first. */
async function bothOn(answer: (request: RecordedRequest, n: number) => ScriptedAnswer | Promise<ScriptedAnswer>) {
  const server = await startScriptedServer(answer);
  const settings = { ...credentials, endpoint: server.origin };
  const sdk = new S3ObjectStore(createS3Client(settings, { timeoutMs: TIMEOUT_MS }));
  const lean = new S3HttpObjectStore({ settingsFor: () => settings, timeoutMs: TIMEOUT_MS });
  return { server, sdk, lean };
}

/** A value, or the failure the port promises (DependencyUnavailableError on storage), or anything else thrown. */
async function outcomeOf(call: () => Promise<unknown>): Promise<unknown> {
  try {
    return { value: await call() };
  } catch (error) {
    if (error instanceof DependencyUnavailableError) return { unavailable: error.dependency };
    return { thrown: String(error) };
  }
}

/** A request without what only the SDK sends (its user agent and retry bookkeeping) and what changes with the instant. */
function comparable(request: RecordedRequest) {
  const {
    "user-agent": _ua,
    "x-amz-user-agent": _xua,
    "amz-sdk-invocation-id": _id,
    "amz-sdk-request": _attempt,
    authorization,
    "x-amz-date": _date,
    connection: _connection,
    ...headers
  } = request.headers;
  // The signature differs (the SDK also signs its bookkeeping headers); the credential scope may not.
  const scope = /Credential=([^,]+),/.exec(String(authorization))?.[1];
  return { method: request.method, url: request.url, headers, scope, body: request.body.toString("utf8") };
}

describe("the lean S3 client and the SDK's, on the same scripted server", () => {
  it.each(Object.keys(CALLS))("%s sends the SDK's request and answers what the SDK adapter answers", async (name) => {
    const { server, sdk, lean } = await bothOn(() => SUCCESS[name]!);
    try {
      const sdkOutcome = await outcomeOf(() => CALLS[name]!(sdk));
      const leanOutcome = await outcomeOf(() => CALLS[name]!(lean));

      expect(server.requests).toHaveLength(2);
      expect(comparable(server.requests[1]!)).toEqual(comparable(server.requests[0]!));
      expect(leanOutcome).toEqual(sdkOutcome);
      expect(leanOutcome).not.toHaveProperty("thrown");
      expect(leanOutcome).not.toHaveProperty("unavailable");
    } finally {
      await server.close();
    }
  });

  /** Storage replies and what every call must make of them, attempt by attempt. */
  const SCENARIOS: { name: string; answers: (name: string) => ScriptedAnswer[] }[] = [
    { name: "a 500 on every attempt", answers: () => [storageXml(500, "InternalError", "x"), storageXml(500, "InternalError", "x")] },
    { name: "503 SlowDown, then success", answers: (name) => [storageXml(503, "SlowDown", "x"), SUCCESS[name]!] },
    { name: "a dropped connection, then success", answers: (name) => ["drop", SUCCESS[name]!] },
    { name: "a dropped connection on every attempt", answers: () => ["drop", "drop"] },
    { name: "403 AccessDenied (not retried)", answers: () => [storageXml(403, "AccessDenied", "x")] },
    { name: "404 NoSuchKey", answers: () => [storageXml(404, "NoSuchKey", "x")] },
    { name: "404 NoSuchBucket", answers: () => [storageXml(404, "NoSuchBucket", "x")] },
    { name: "404 with no body (a HEAD's)", answers: () => [{ status: 404 }] },
    { name: "416 (an empty object's range)", answers: () => [storageXml(416, "InvalidRange", "x")] },
    { name: "412 PreconditionFailed", answers: () => [storageXml(412, "PreconditionFailed", "x")] },
    { name: "200 with an error document (a copy failed late)", answers: () => [{ status: 200, body: "<Error><Code>InternalError</Code></Error>" }] },
    {
      name: "200 with an error document, then success",
      answers: (name) => [{ status: 200, body: "<Error><Code>InternalError</Code></Error>" }, SUCCESS[name]!],
    },
    { name: "200 with an empty body (a copy aborted)", answers: () => [{ status: 200, body: "" }] },
  ];

  describe.each(SCENARIOS)("$name", ({ answers }) => {
    it.each(Object.keys(CALLS))("%s: the same outcome after the same attempts as the SDK adapter", async (name) => {
      const script = answers(name);
      // One server per store, each answering its own requests from the start of the script.
      const forSdk = await bothOn((_request, n) => script[n % script.length]!);
      const forLean = await bothOn((_request, n) => script[n % script.length]!);
      try {
        const sdkOutcome = await outcomeOf(() => CALLS[name]!(forSdk.sdk));
        const leanOutcome = await outcomeOf(() => CALLS[name]!(forLean.lean));

        expect(leanOutcome).toEqual(sdkOutcome);
        expect(leanOutcome).not.toHaveProperty("thrown");
        expect(forLean.server.requests.length).toBe(forSdk.server.requests.length);
      } finally {
        await Promise.all([forSdk.server.close(), forLean.server.close()]);
      }
    });
  });

  it.each(Object.keys(CALLS))(
    `%s: a server that never answers is DependencyUnavailableError after ${S3_MAX_ATTEMPTS} attempts, bounded by the timeout`,
    async (name) => {
      const { server, lean } = await bothOn(() => new Promise<ScriptedAnswer>(() => undefined));
      try {
        const started = performance.now();
        const outcome = await outcomeOf(() => CALLS[name]!(lean));
        const waited = performance.now() - started;

        expect(outcome).toEqual({ unavailable: "storage" });
        expect(server.requests).toHaveLength(S3_MAX_ATTEMPTS);
        expect(waited).toBeGreaterThanOrEqual(S3_MAX_ATTEMPTS * TIMEOUT_MS - 20);
        expect(waited).toBeLessThan(S3_MAX_ATTEMPTS * TIMEOUT_MS + 2000);
      } finally {
        await server.close();
      }
    },
  );

  it("a body that stalls part way fails the stream's reader with DependencyUnavailableError", async () => {
    const server = createServer((_req, res) => {
      res.writeHead(206, { "content-length": "8" });
      res.write("half"); // and nothing more
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const lean = new S3HttpObjectStore({ settingsFor: () => ({ ...credentials, endpoint }), timeoutMs: TIMEOUT_MS });
    try {
      const stream = await lean.stream(BUCKET, KEY, 8);
      const read = async () => {
        for await (const _chunk of stream!) {
          // drain
        }
      };

      await expect(read()).rejects.toBeInstanceOf(DependencyUnavailableError);
      await expect(lean.readFirstBytes(BUCKET, KEY, 8)).rejects.toBeInstanceOf(DependencyUnavailableError);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

describe("the lean S3 client on the real SigV4-checking server", () => {
  let s3: EmbeddedS3;
  beforeAll(async () => {
    s3 = await startEmbeddedS3({ directory: await mkdtemp(join(tmpdir(), "fitkit-lean-s3-")), buckets: [BUCKET, OTHER_BUCKET] });
  });
  afterAll(() => s3?.close());
  const settings = () => ({ endpoint: s3.endpoint, region: s3.region, accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey });

  it("heads, reads, copies across buckets and deletes keys that encoding can get wrong", async () => {
    const key = `${uniqueId("odd")}/${SERVER_KEY}`;
    const source = `${uniqueId("odd")}/${SERVER_COPY_SOURCE}`;
    const copied = `${uniqueId("records")}/ä + ü & %2F.png`;
    const sdk = createS3Client(settings());
    for (const stored of [key, source]) {
      await sdk.send(
        new PutObjectCommand({
          Bucket: BUCKET,
          Key: stored,
          Body: Buffer.from("\x89PNG rest", "latin1"),
          ContentType: "image/png",
          Metadata: { note: "kept" },
        }),
      );
    }
    const lean = new S3HttpObjectStore({ settingsFor: settings });

    expect(await lean.head(BUCKET, key)).toMatchObject({ size: 9, contentType: "image/png", metadata: { note: "kept" } });
    expect(Buffer.from((await lean.readFirstBytes(BUCKET, key, 4))!).toString("latin1")).toBe("\x89PNG");
    expect(await lean.copy(BUCKET, source, copied, OTHER_BUCKET)).toEqual({ etag: expect.stringMatching(/^".+"$/) });
    expect(await lean.head(OTHER_BUCKET, copied)).toMatchObject({ size: 9, metadata: { note: "kept" } });
    expect(await lean.deleteObjects(BUCKET, [source, `${source}-never-stored`])).toEqual({ deleted: [source, `${source}-never-stored`], failed: [] });
    expect(await lean.head(BUCKET, source)).toBeNull();
  });

  it("is refused with a wrong secret: the server checks the signature, and the store answers DependencyUnavailableError", async () => {
    const lean = new S3HttpObjectStore({ settingsFor: () => ({ ...settings(), secretAccessKey: "not-the-secret" }) });

    expect(await outcomeOf(() => lean.copy(BUCKET, "a", "b"))).toEqual({ unavailable: "storage" });
    expect(await outcomeOf(() => lean.deleteObjects(BUCKET, ["a"]))).toEqual({ unavailable: "storage" });
    expect(await outcomeOf(() => lean.readFirstBytes(BUCKET, "a", 4))).toEqual({ unavailable: "storage" });
  });
});
