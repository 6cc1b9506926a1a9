/**
 * Acceptance: URLs signed by FastUrlSigner are accepted by a real SigV4-checking server (the
 * embedded, patched @20minutes/s3rver from local/embedded-s3.ts), and tampered ones are refused.
 *
 * Not asserted here (s3rver does not check them; R2 does): checksum verification of the body.
 */
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { FastUrlSigner } from "@fitkit/core/adapters/s3/fast-url-signer";
import type { PresignedPut, PresignPutInput } from "@fitkit/core/storage/url-signer";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type EmbeddedS3, startEmbeddedS3 } from "../local/embedded-s3.js";
import { sha256Base64 } from "./support/fixtures.js";

const BUCKET = "fitkit-uploads";

/** ~30 keys that exercise URI encoding; every one must round-trip through PUT and GET. */
const TRICKY_KEYS = [
  "plain.jpg",
  "with space.png",
  "two  spaces and trailing ",
  "plus+sign+.jpg",
  "percent%25literal%.txt",
  "%2F-encoded-slash-literal",
  "%20-encoded-space-literal",
  "equals=and&ampersand",
  "question?mark",
  "hash#fragment",
  "tilde~unreserved",
  "star*bang!quote'paren(1)",
  "brackets[0]{x}<y>",
  "colon:semi;comma,at@dollar$",
  'back\\slash^caret`grave|pipe"dq',
  "uploads/user_123/2024-05-01/photo.jpg",
  "deep/a/b/c/d/e/f/g/h/i.bin",
  "é accents/ñandú/ß.txt",
  "中文/日本語/한국어.png",
  "עברית/العربية.txt",
  "emoji 😀/👩‍👩‍👧/🏳️‍🌈.gif",
  "zero\u200bwidth\ufeffbom",
  "nbsp\u00a0here",
  "...three-dots-segment/..hidden/.dotfile",
  "trailing-dot./x",
  "a-_.~!*'();:@&=+$,?#[]",
  // Segments stay ≤ 150 bytes: s3rver stores each segment as a file name (plus ~60 bytes of suffix).
  `long/${"x".repeat(150)}/${"é".repeat(75)}/${"😀".repeat(37)}/${"中".repeat(50)}/${"z".repeat(150)}`,
  maxLengthKey(),
];

/** A key of exactly 1024 bytes (the S3 maximum) with unicode in it. */
function maxLengthKey(): string {
  const segments = ["max"];
  while (Buffer.byteLength(segments.join("/")) < 1024 - 151) segments.push("ü".repeat(75));
  const rest = 1024 - Buffer.byteLength(segments.join("/")) - 1;
  segments.push("m".repeat(rest));
  return segments.join("/");
}

let s3: EmbeddedS3;
let directory: string;
let signer: FastUrlSigner;

beforeAll(async () => {
  directory = await mkdtemp(path.join(os.tmpdir(), "fast-url-signer-"));
  s3 = await startEmbeddedS3({ directory, buckets: [BUCKET] });
  signer = new FastUrlSigner(s3);
});

afterAll(async () => {
  await s3?.close();
  if (directory) await rm(directory, { recursive: true, force: true });
});

async function put(signed: PresignedPut, body: Uint8Array, headers: Record<string, string> = signed.headers) {
  const response = await fetch(signed.url, { method: "PUT", headers, body: Uint8Array.from(body) });
  const text = await response.text();
  return { status: response.status, text };
}

async function get(url: string) {
  const response = await fetch(url);
  return { status: response.status, response, bytes: new Uint8Array(await response.arrayBuffer()) };
}

describe("FastUrlSigner against a SigV4-checking server", () => {
  it("the longest sample key is exactly 1024 bytes", () => {
    expect(Buffer.byteLength(TRICKY_KEYS[TRICKY_KEYS.length - 1] as string)).toBe(1024);
  });

  it.each(TRICKY_KEYS.map((key, i) => [i, key] as const))("PUT then GET accepted for key #%i %j", async (i, key) => {
    const body = randomBytes(1 + ((i * 37) % 500));
    const input: PresignPutInput = {
      bucket: BUCKET,
      key,
      contentType: i % 3 === 0 ? "text/plain; charset=utf-8" : "image/png",
      contentLength: body.length,
      expiresInSeconds: 300,
      ...(i % 2 === 0 ? { checksumSha256: sha256Base64(body) } : {}),
      ...(i % 4 < 2 ? { ifNoneMatch: true } : {}),
    };
    const signed = await signer.presignPut(input);
    const stored = await put(signed, body);
    expect(stored, stored.text).toMatchObject({ status: 200 });

    const read = await get(await signer.presignGet({ bucket: BUCKET, key, expiresInSeconds: 300 }));
    expect(read.status).toBe(200);
    expect(Buffer.from(read.bytes).equals(body)).toBe(true);
    expect(read.response.headers.get("content-type")).toBe(input.contentType);
  });

  it("GET honours signed response-content-type / response-content-disposition", async () => {
    const key = "overrides/photo 1+2.jpg";
    const body = randomBytes(64);
    const signed = await signer.presignPut({
      bucket: BUCKET,
      key,
      contentType: "image/jpeg",
      contentLength: body.length,
      expiresInSeconds: 60,
    });
    expect((await put(signed, body)).status).toBe(200);
    const url = await signer.presignGet({
      bucket: BUCKET,
      key,
      expiresInSeconds: 60,
      responseContentType: "application/octet-stream",
      responseContentDisposition: 'attachment; filename="photo 1+2.jpg"',
    });
    const read = await get(url);
    expect(read.status).toBe(200);
    expect(read.response.headers.get("content-type")).toBe("application/octet-stream");
    expect(read.response.headers.get("content-disposition")).toBe('attachment; filename="photo 1+2.jpg"');
    expect(Buffer.from(read.bytes).equals(body)).toBe(true);
  });

  describe("tampering is refused", () => {
    const key = "tamper/target é+.bin";
    const body = randomBytes(100);
    let signed: PresignedPut;

    beforeAll(async () => {
      signed = await signer.presignPut({
        bucket: BUCKET,
        key,
        contentType: "image/png",
        contentLength: body.length,
        checksumSha256: sha256Base64(body),
        ifNoneMatch: true,
        expiresInSeconds: 300,
      });
    });

    const mutateQuery = (url: string, name: string, change: (value: string) => string): string => {
      const parsed = new URL(url);
      parsed.searchParams.set(name, change(parsed.searchParams.get(name) ?? ""));
      return parsed.toString();
    };
    const flipLastHexDigit = (hex: string): string => hex.slice(0, -1) + (hex.endsWith("0") ? "1" : "0");

    it("a changed signature", async () => {
      const url = mutateQuery(signed.url, "X-Amz-Signature", flipLastHexDigit);
      expect((await put({ ...signed, url }, body)).status).toBe(403);
    });

    it("a changed expiry", async () => {
      const url = mutateQuery(signed.url, "X-Amz-Expires", () => "600");
      expect((await put({ ...signed, url }, body)).status).toBe(403);
    });

    it("another key in the path", async () => {
      const url = signed.url.replace("/target%20", "/target2%20");
      expect(url).not.toBe(signed.url);
      expect((await put({ ...signed, url }, body)).status).toBe(403);
    });

    it("another content-type than the signed one", async () => {
      const stored = await put(signed, body, { ...signed.headers, "content-type": "text/html" });
      expect(stored.status).toBe(403);
    });

    it("a signed header left out", async () => {
      const { "x-amz-checksum-sha256": _omitted, ...headers } = signed.headers;
      expect((await put(signed, body, headers)).status).toBe(403);
    });

    it("an expired URL", async () => {
      const expired = await signer.presignPut({
        bucket: BUCKET,
        key,
        contentType: "image/png",
        contentLength: body.length,
        expiresInSeconds: 60,
        signingDate: new Date(Date.now() - 120_000),
      });
      expect((await put(expired, body)).status).toBe(403);
    });

    it("…while the untampered URL works once, and if-none-match refuses a second PUT", async () => {
      expect((await put(signed, body)).status).toBe(200);
      expect((await put(signed, body)).status).toBe(412);
    });
  });
});
