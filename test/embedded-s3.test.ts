// The embedded S3 server (patched @20minutes/s3rver in a child process), exercised with the real
// AWS SDK and real HTTP: no mocks. What R2 enforces and the local stack relies on is asserted
// here, so a regression in the patch (patches/@20minutes+s3rver+4.0.4.patch) shows up at once.
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, rm } from "node:fs/promises";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import {
  CreateBucketCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from "@aws-sdk/client-s3";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type EmbeddedS3, startEmbeddedS3 } from "../local/embedded-s3.ts";

const BUCKET = "media";
const APP_ORIGIN = "http://app.fitkit.test";

let dir: string;
let s3: EmbeddedS3;
let client: S3Client;
// Started alongside the main server (start-up is the slow part) for the lifecycle tests.
let secondServer: Promise<EmbeddedS3>;
let orphanParent: Promise<{ parent: ChildProcess; port: number }>;
let portBlocker: net.Server;
let startOnTakenPort: Promise<EmbeddedS3>;

function makeClient(overrides: { accessKeyId?: string; secretAccessKey?: string } = {}): S3Client {
  return new S3Client({
    endpoint: s3.endpoint,
    region: s3.region,
    forcePathStyle: true,
    credentials: {
      accessKeyId: overrides.accessKeyId ?? s3.accessKeyId,
      secretAccessKey: overrides.secretAccessKey ?? s3.secretAccessKey,
    },
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
  });
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "embedded-s3-test-"));
  secondServer = startEmbeddedS3({ directory: path.join(dir, "second"), buckets: ["b"] });
  orphanParent = startOrphanParent(path.join(dir, "orphan"));
  portBlocker = net.createServer();
  portBlocker.listen(0, "127.0.0.1");
  await once(portBlocker, "listening");
  const takenPort = (portBlocker.address() as net.AddressInfo).port;
  startOnTakenPort = startEmbeddedS3({ directory: path.join(dir, "taken"), buckets: ["b"], port: takenPort });
  // no unhandled rejection before the lifecycle tests await them
  for (const pending of [secondServer, orphanParent, startOnTakenPort]) pending.catch(() => {});
  s3 = await startEmbeddedS3({
    directory: path.join(dir, "main"),
    buckets: [BUCKET, "compliance"],
    cors: {
      allowedOrigins: [APP_ORIGIN],
      allowedMethods: ["PUT", "GET", "HEAD"],
      allowedHeaders: ["content-type", "content-length", "if-none-match", "x-amz-*"],
      exposeHeaders: ["ETag"],
      maxAgeSeconds: 600,
    },
  });
  client = makeClient();
});

afterAll(async () => {
  client?.destroy();
  await s3?.close();
  await secondServer?.then(
    (server) => server.close(),
    () => {},
  );
  await startOnTakenPort?.then(
    (server) => server.close(),
    () => {},
  );
  portBlocker?.close();
  await orphanParent?.then(
    async ({ parent }) => {
      if (parent.exitCode === null && parent.signalCode === null) {
        parent.kill("SIGKILL");
        await once(parent, "exit");
      }
    },
    () => {},
  );
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Error code and HTTP status of a rejected SDK call. */
async function rejection(promise: Promise<unknown>): Promise<{ name: string; status: number | undefined }> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof S3ServiceException) return { name: error.name, status: error.$metadata.httpStatusCode };
    throw error;
  }
  throw new Error("expected the request to be rejected");
}

async function exists(key: string, bucket = BUCKET): Promise<boolean> {
  try {
    await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    return true;
  } catch (error) {
    if (error instanceof S3ServiceException && error.$metadata.httpStatusCode === 404) return false;
    throw error;
  }
}

async function readObject(key: string): Promise<Buffer> {
  const result = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
  return Buffer.from(await result.Body!.transformToByteArray());
}

interface PresignOptions {
  contentType: string;
  contentLength: number;
  expiresIn?: number;
  signingDate?: Date;
  ifNoneMatch?: boolean;
}

/** A presigned PUT pinning content-type and content-length, as the presign use-case signs it. */
function presignPut(key: string, options: PresignOptions): Promise<string> {
  const signable = ["content-type", "content-length", ...(options.ifNoneMatch ? ["if-none-match"] : [])];
  return getSignedUrl(
    client,
    new PutObjectCommand({
      Bucket: BUCKET,
      Key: key,
      ContentType: options.contentType,
      ContentLength: options.contentLength,
      ...(options.ifNoneMatch ? { IfNoneMatch: "*" } : {}),
    }),
    {
      expiresIn: options.expiresIn ?? 300,
      signableHeaders: new Set(signable),
      ...(options.signingDate ? { signingDate: options.signingDate } : {}),
    },
  );
}

async function putWithFetch(url: string, body: Uint8Array, headers: Record<string, string>) {
  const response = await fetch(url, { method: "PUT", body: new Uint8Array(body), headers });
  const text = await response.text();
  const code = /<Code>([^<]+)<\/Code>/.exec(text)?.[1];
  return { status: response.status, code, text };
}

/**
 * Sends a request declaring `declaredLength` body bytes but only `sent` of them, then drops the
 * connection — what a client that dies mid-upload does (fetch cannot send a wrong length).
 */
async function putCutShortOnTheWire(url: string, headers: Record<string, string>, declaredLength: number, sent: Buffer) {
  const target = new URL(url);
  const socket = net.connect(Number(target.port), target.hostname);
  await once(socket, "connect");
  const head = [
    `PUT ${target.pathname}${target.search} HTTP/1.1`,
    `Host: ${target.host}`,
    ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`),
    `Content-Length: ${declaredLength}`,
    "",
    "",
  ].join("\r\n");
  socket.write(head);
  socket.write(sent);
  await sleep(100); // let the server receive and write what was sent
  socket.destroy();
  await sleep(50); // let it notice the abort
}

describe("embedded S3 server", () => {
  it("listens on a free 127.0.0.1 port and reports it", () => {
    expect(s3.endpoint).toBe(`http://127.0.0.1:${s3.port}`);
    expect(s3.port).toBeGreaterThan(0);
    expect(s3.region).toBe("auto");
  });

  describe("bucket-level requests with checked SigV4 signatures", () => {
    it("HeadBucket succeeds for a configured bucket and is 404 for an unknown one", async () => {
      const head = await client.send(new HeadBucketCommand({ Bucket: BUCKET }));
      expect(head.$metadata.httpStatusCode).toBe(200);
      expect(await rejection(client.send(new HeadBucketCommand({ Bucket: "no-such-bucket" })))).toMatchObject({
        status: 404,
      });
    });

    it("CreateBucket works", async () => {
      await client.send(new CreateBucketCommand({ Bucket: "created-by-sdk" }));
      const head = await client.send(new HeadBucketCommand({ Bucket: "created-by-sdk" }));
      expect(head.$metadata.httpStatusCode).toBe(200);
    });

    it("ListObjectsV2 paginates with continuation tokens", async () => {
      const keys = ["list/a", "list/b", "list/c", "list/d", "list/e"];
      for (const key of keys) await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: key }));

      const seen: string[] = [];
      let token: string | undefined;
      let pages = 0;
      do {
        const page = await client.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: "list/", MaxKeys: 2, ContinuationToken: token }));
        pages++;
        seen.push(...(page.Contents ?? []).map((object) => object.Key!));
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);

      expect(pages).toBe(3);
      expect(seen).toEqual(keys);
    });

    it("DeleteObjects deletes a batch of keys", async () => {
      const keys = ["batch/1", "batch/2", "batch/3"];
      for (const key of keys) await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: "x" }));

      const result = await client.send(new DeleteObjectsCommand({ Bucket: BUCKET, Delete: { Objects: keys.map((Key) => ({ Key })) } }));

      expect(result.Deleted?.map((deleted) => deleted.Key).sort()).toEqual(keys);
      const listed = await client.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: "batch/" }));
      expect(listed.KeyCount ?? 0).toBe(0);
    });
  });

  describe("presigned PUT pinning content-length and content-type", () => {
    const body = Buffer.from("\x89PNG\r\n\x1a\n-fake-png-bytes");

    it("accepts the exact signed bytes and content type", async () => {
      const url = await presignPut("presigned/exact.png", { contentType: "image/png", contentLength: body.length });

      const result = await putWithFetch(url, body, { "content-type": "image/png" });

      expect(result.status).toBe(200);
      expect(await readObject("presigned/exact.png")).toEqual(body);
      const head = await client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: "presigned/exact.png" }));
      expect(head.ContentType).toBe("image/png");
      expect(head.ContentLength).toBe(body.length);
    });

    it.each([
      { name: "a body longer than the signed length", send: Buffer.concat([body, Buffer.from("extra")]), type: "image/png" },
      { name: "a body shorter than the signed length", send: body.subarray(0, 5), type: "image/png" },
      { name: "a content type other than the signed one", send: body, type: "image/jpeg" },
    ])("rejects $name with 403 SignatureDoesNotMatch and stores nothing", async ({ name, send, type }) => {
      const key = `presigned/rejected-${name.replace(/\W+/g, "-")}`;
      const url = await presignPut(key, { contentType: "image/png", contentLength: body.length });

      const result = await putWithFetch(url, send, { "content-type": type });

      expect(result).toMatchObject({ status: 403, code: "SignatureDoesNotMatch" });
      expect(await exists(key)).toBe(false);
    });

    it("rejects a tampered signature with 403 SignatureDoesNotMatch and stores nothing", async () => {
      const key = "presigned/tampered";
      const url = new URL(await presignPut(key, { contentType: "image/png", contentLength: body.length }));
      const signature = url.searchParams.get("X-Amz-Signature")!;
      url.searchParams.set("X-Amz-Signature", signature.slice(0, -1) + (signature.endsWith("0") ? "1" : "0"));

      const result = await putWithFetch(url.toString(), body, { "content-type": "image/png" });

      expect(result).toMatchObject({ status: 403, code: "SignatureDoesNotMatch" });
      expect(await exists(key)).toBe(false);
    });

    it("rejects an expired URL with 403 AccessDenied and stores nothing", async () => {
      const key = "presigned/expired";
      const url = await presignPut(key, {
        contentType: "image/png",
        contentLength: body.length,
        expiresIn: 60,
        signingDate: new Date(Date.now() - 120_000),
      });

      const result = await putWithFetch(url, body, { "content-type": "image/png" });

      expect(result).toMatchObject({ status: 403, code: "AccessDenied" });
      expect(result.text).toContain("Request has expired");
      expect(await exists(key)).toBe(false);
    });

    it.each([
      { expiresIn: Number.NaN, shown: "NaN" },
      { expiresIn: -1, shown: "-1" },
    ])("rejects a signed X-Amz-Expires of $shown with 400 (it would otherwise never expire)", async ({ expiresIn, shown }) => {
      const key = `presigned/bad-expires-${shown}`;
      const url = await presignPut(key, { contentType: "image/png", contentLength: body.length, expiresIn });
      expect(new URL(url).searchParams.get("X-Amz-Expires")).toBe(shown);

      const result = await putWithFetch(url, body, { "content-type": "image/png" });

      expect(result).toMatchObject({ status: 400, code: "AuthorizationQueryParametersError" });
      expect(await exists(key)).toBe(false);
    });

    it("leaves no partial object when the upload is cut short on the wire", async () => {
      const key = "presigned/cut-short";
      const url = await presignPut(key, { contentType: "image/png", contentLength: body.length });

      await putCutShortOnTheWire(url, { "Content-Type": "image/png" }, body.length, body.subarray(0, 5));

      expect(await exists(key)).toBe(false);
      const listed = await client.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: key }));
      expect(listed.KeyCount ?? 0).toBe(0);
    });

    it("keeps the previous object intact when an overwrite is cut short on the wire", async () => {
      const key = "presigned/cut-short-overwrite";
      const original = Buffer.from("original bytes, not to be truncated");
      await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: original }));
      const url = await presignPut(key, { contentType: "image/png", contentLength: body.length });

      await putCutShortOnTheWire(url, { "Content-Type": "image/png" }, body.length, body.subarray(0, 5));

      expect(await readObject(key)).toEqual(original);
    });
  });

  describe("query strings with !'()* (signed GET, list prefix)", () => {
    it.each(['attachment; filename="report.pdf"', `attachment; filename="it's (1)!.pdf"`, "attachment; filename*=UTF-8''r%C3%A9sum%C3%A9.pdf"])(
      "accepts a signed response-content-disposition of %s and applies it",
      async (disposition) => {
        const key = "get/it's (1)!.pdf";
        await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: "%PDF-1.7" }));
        const url = await getSignedUrl(
          client,
          new GetObjectCommand({
            Bucket: BUCKET,
            Key: key,
            ResponseContentDisposition: disposition,
            ResponseContentType: "application/pdf",
          }),
          { expiresIn: 60 },
        );

        const response = await fetch(url);

        expect(response.status).toBe(200);
        expect(response.headers.get("content-disposition")).toBe(disposition);
        expect(response.headers.get("content-type")).toBe("application/pdf");
        expect(await response.text()).toBe("%PDF-1.7");
      },
    );

    it("ListObjectsV2 accepts a prefix with characters RFC 3986 reserves", async () => {
      // (no apostrophe in the key: s3rver's XML writes it as &#x27;, which the SDK does not decode)
      await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: "odd/copy (1)!*.txt", Body: "x" }));

      const listed = await client.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: "odd/copy (1)!" }));

      expect(listed.Contents?.map((object) => object.Key)).toEqual(["odd/copy (1)!*.txt"]);
    });
  });

  describe("credentials", () => {
    it("rejects a request signed with the wrong secret key", async () => {
      const wrong = makeClient({ secretAccessKey: "not-the-secret" });
      try {
        const result = await rejection(wrong.send(new PutObjectCommand({ Bucket: BUCKET, Key: "creds/wrong-secret", Body: "x" })));
        expect(result).toEqual({ name: "SignatureDoesNotMatch", status: 403 });
        expect(await exists("creds/wrong-secret")).toBe(false);
      } finally {
        wrong.destroy();
      }
    });

    it("rejects an unknown access key id", async () => {
      const unknown = makeClient({ accessKeyId: "NOT-A-KEY" });
      try {
        const result = await rejection(unknown.send(new PutObjectCommand({ Bucket: BUCKET, Key: "creds/unknown-key", Body: "x" })));
        expect(result).toEqual({ name: "InvalidAccessKeyId", status: 403 });
        expect(await exists("creds/unknown-key")).toBe(false);
      } finally {
        unknown.destroy();
      }
    });
  });

  describe("conditional writes", () => {
    it("PutObject with IfNoneMatch '*' on an existing key fails with 412 and keeps the original bytes", async () => {
      const key = "conditional/sdk";
      await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: "first", IfNoneMatch: "*" }));

      const result = await rejection(client.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: "second", IfNoneMatch: "*" })));

      expect(result).toEqual({ name: "PreconditionFailed", status: 412 });
      expect((await readObject(key)).toString()).toBe("first");
    });

    it("a presigned URL signing if-none-match uploads once, then answers 412 with S3's XML error", async () => {
      const key = "conditional/presigned";
      const first = Buffer.from("first upload");
      const second = Buffer.from("other upload"); // same length, so only the condition differs
      const url = await presignPut(key, { contentType: "text/plain", contentLength: first.length, ifNoneMatch: true });
      expect(new URL(url).searchParams.get("X-Amz-SignedHeaders")).toContain("if-none-match");

      const created = await putWithFetch(url, first, { "content-type": "text/plain", "if-none-match": "*" });
      const replayed = await putWithFetch(url, second, { "content-type": "text/plain", "if-none-match": "*" });

      expect(created.status).toBe(200);
      expect(replayed).toMatchObject({ status: 412, code: "PreconditionFailed" });
      expect(replayed.text).toMatch(/^<\?xml version="1\.0" encoding="UTF-8"\?>\s*<Error><Code>PreconditionFailed<\/Code>/);
      expect(await readObject(key)).toEqual(first);
    });

    it("a presigned URL signing if-none-match is refused without the header (it is signed)", async () => {
      const key = "conditional/presigned-without-header";
      const bytes = Buffer.from("bytes");
      const url = await presignPut(key, { contentType: "text/plain", contentLength: bytes.length, ifNoneMatch: true });

      const result = await putWithFetch(url, bytes, { "content-type": "text/plain" });

      expect(result).toMatchObject({ status: 403, code: "SignatureDoesNotMatch" });
      expect(await exists(key)).toBe(false);
    });

    it("of concurrent IfNoneMatch '*' writers exactly one wins and its bytes are stored", async () => {
      const key = "conditional/race";
      const bodies = Array.from({ length: 8 }, (_, i) => `writer-${i}`);

      const results = await Promise.allSettled(bodies.map((Body) => client.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body, IfNoneMatch: "*" }))));

      const winners = results.flatMap((result, i) => (result.status === "fulfilled" ? [bodies[i]] : []));
      const losers = results.flatMap((result) => (result.status === "rejected" ? [result.reason] : []));
      expect(winners).toHaveLength(1);
      expect(losers.every((error) => error instanceof S3ServiceException && error.$metadata.httpStatusCode === 412)).toBe(true);
      expect((await readObject(key)).toString()).toBe(winners[0]);
    });

    it("PutObject with a stale IfMatch ETag fails with 412", async () => {
      const key = "conditional/if-match";
      const created = await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: "v1" }));
      await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: "v2", IfMatch: created.ETag }));

      const result = await rejection(client.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: "v3", IfMatch: created.ETag })));

      expect(result).toEqual({ name: "PreconditionFailed", status: 412 });
      expect((await readObject(key)).toString()).toBe("v2");
    });
  });

  describe("bucket CORS", () => {
    const preflight = (origin: string) =>
      fetch(`${s3.endpoint}/${BUCKET}/cors/object.png`, {
        method: "OPTIONS",
        headers: {
          Origin: origin,
          "Access-Control-Request-Method": "PUT",
          "Access-Control-Request-Headers": "content-type,if-none-match",
        },
      });

    it("allows a preflight from a configured origin", async () => {
      const response = await preflight(APP_ORIGIN);

      expect(response.status).toBe(200);
      // s3rver answers `*` where R2 echoes the origin; both let the browser through
      expect([APP_ORIGIN, "*"]).toContain(response.headers.get("access-control-allow-origin"));
      expect(response.headers.get("access-control-allow-methods")).toContain("PUT");
      expect(response.headers.get("access-control-allow-headers")).toBe("content-type, if-none-match");
    });

    it("refuses a preflight from another origin", async () => {
      const response = await preflight("http://evil.example");

      expect(response.status).toBe(403);
      expect(response.headers.get("access-control-allow-origin")).toBeNull();
    });

    it("applies the configuration to every bucket", async () => {
      const response = await fetch(`${s3.endpoint}/compliance/incoming/doc.pdf`, {
        method: "OPTIONS",
        headers: { Origin: APP_ORIGIN, "Access-Control-Request-Method": "PUT" },
      });
      expect(response.status).toBe(200);
    });
  });
});

describe("embedded S3 lifecycle", () => {
  it("close() stops the server and resolves once the child has exited", async () => {
    const server = await secondServer;
    expect((await fetch(`${server.endpoint}/b/missing`, { method: "HEAD" })).status).toBe(404);

    await server.close();
    await server.close(); // idempotent

    await expect(fetch(`${server.endpoint}/b/missing`, { method: "HEAD" })).rejects.toThrow();
  });

  it("startEmbeddedS3 rejects with the cause when the port is taken", async () => {
    await expect(startOnTakenPort).rejects.toThrow(/EADDRINUSE/);
  });

  it("the server exits when the process that started it is killed", async () => {
    const { parent, port } = await orphanParent;
    expect((await fetch(`http://127.0.0.1:${port}/b/missing`, { method: "HEAD" })).status).toBe(404);

    parent.kill("SIGKILL");
    await once(parent, "exit");

    let stillUp = true;
    for (let attempt = 0; attempt < 50 && stillUp; attempt++) {
      stillUp = await fetch(`http://127.0.0.1:${port}/b/missing`, { method: "HEAD" }).then(
        () => true,
        () => false,
      );
      if (stillUp) await sleep(50);
    }
    expect(stillUp).toBe(false);
  });
});

/**
 * A separate Node process that starts a server through local/embedded-s3.ts under tsx (as
 * `npm start` does) and prints its port, so a test can kill it and watch the server go too.
 */
async function startOrphanParent(directory: string): Promise<{ parent: ChildProcess; port: number }> {
  const moduleUrl = new URL("../local/embedded-s3.ts", import.meta.url).href;
  const script = `
    const { startEmbeddedS3 } = await import(${JSON.stringify(moduleUrl)});
    const s3 = await startEmbeddedS3({ directory: ${JSON.stringify(directory)}, buckets: ["b"] });
    console.log("PORT " + s3.port);
    setInterval(() => {}, 1000);
  `;
  const parent = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
    cwd: fileURLToPath(new URL("..", import.meta.url)),
    stdio: ["ignore", "pipe", "inherit"],
  });
  let output = "";
  parent.stdout!.setEncoding("utf8");
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => {
      parent.kill("SIGKILL");
      reject(new Error(`parent did not report a port within 20 s: ${output}`));
    }, 20_000);
    parent.stdout!.on("data", (chunk: string) => {
      output += chunk;
      const match = /PORT (\d+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    });
    parent.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`parent exited early (${code}): ${output}`));
    });
  });
  return { parent, port };
}
