/**
 * Differential test: FastUrlSigner must produce byte-identical URLs and headers to SdkUrlSigner
 * (the AWS SDK's getSignedUrl) for the same input and signing date.
 *
 * Random inputs come from a seeded PRNG. Reproduce a failure with the printed seed:
 *   SIGNER_TEST_SEED=<seed> npx vitest run core/src/adapters/s3/fast-url-signer.test.ts
 */
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { describe, expect, it } from "vitest";
import { prng, type Rng } from "../../../../support/prng.js";
import type { PresignGetInput, PresignPutInput, PresignUploadPartInput, S3ConnectionSettings } from "../../storage/url-signer.js";
import { FastUrlSigner, MAX_KEY_BYTES } from "./fast-url-signer.js";
import { SdkUrlSigner } from "./sdk-url-signer.js";
import { SIGNED_PUT_HEADERS } from "./signed-put-headers.js";

const SEED = Number(process.env.SIGNER_TEST_SEED ?? 0x5eed_f17c);
const CASES = Number(process.env.SIGNER_TEST_CASES ?? 3000);

// Pieces that keys are assembled from: everything URI encoding can get wrong.
const KEY_PIECES = [
  ..."abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.~".split(""),
  ..." +%=&?#/*!'()[]{}<>\"`^|\\:;,@$".split(""),
  "/",
  "/",
  "//",
  " ",
  "  ",
  "%20",
  "%2F",
  "%25",
  "+",
  "a+b",
  "?x=1&y=2",
  "#frag",
  "...",
  ".hidden",
  "é",
  "ü",
  "ß",
  "ñ",
  "Ω",
  "中文",
  "日本語",
  "한국어",
  "עברית",
  "العربية",
  "😀",
  "👩‍👩‍👧",
  "🏳️‍🌈",
  "\u200b",
  "\ufeff",
  "\u00a0",
  "\u2028",
  "\t",
  "\n",
  "\r",
  "\u0000",
  "\u007f",
  "\u0085",
  "photo.jpg",
  "uploads/",
  "user_123/",
  "2024-05-01T12:34:56Z",
];
const BUCKETS = ["fitkit-uploads", "abc", "a-b", "my.bucket.name", "bucket123", "0start", "x".repeat(63), "a1.b2-c3"];
const ENDPOINTS = [
  "http://127.0.0.1:9000",
  "http://127.0.0.1:54321/",
  "http://localhost:4566",
  "http://localhost:80", // default port: dropped from URL and host header
  "https://0123456789abcdef0123456789abcdef.r2.cloudflarestorage.com",
  "https://ACCOUNT.EU.R2.cloudflarestorage.com:443", // upper case host, default port
  "https://s3.us-east-1.amazonaws.com",
  "https://storage.example.test:8443",
  "http://[::1]:9000",
  "http://127.0.0.1:9000/prefix",
  "http://127.0.0.1:9000/a/b-c/",
];
const REGIONS = ["auto", "us-east-1", "eu-central-1", "wnam"];
const CREDENTIALS = [
  { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" },
  { accessKeyId: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY" },
  { accessKeyId: "0123456789abcdef0123456789abcdef", secretAccessKey: "a+b/c=d".repeat(9) },
];
const CONTENT_TYPES = [
  "image/jpeg",
  "image/png",
  "image/heic",
  "video/mp4",
  "application/octet-stream",
  "application/pdf",
  "text/plain; charset=utf-8",
  "text/plain;charset=UTF-8",
  "text/plain;   charset=utf-8",
  " image/png",
  "image/png  ",
  "\timage/png",
  "multipart/form-data; boundary=----x+y/z=",
  'application/vnd.api+json; profile="a b"',
  "application/x-www-form-urlencoded",
];
const RESPONSE_VALUES = [
  "image/png",
  "text/plain; charset=utf-8",
  'attachment; filename="photo 1.jpg"',
  "inline",
  "attachment; filename*=UTF-8''%C3%A9t%C3%A9.jpg",
  'attachment; filename="été (1).jpg"',
  "a+b=c&d?e#f/g~h*i!j'k(l)m",
  '😀 emoji; name="😀.png"',
  "x".repeat(300),
];

function randomKey(rng: Rng): string {
  const targetBytes = rng.pick([1, 2, 8, 32, 100, 255, 600, MAX_KEY_BYTES]);
  let key = "";
  for (;;) {
    const piece = rng.pick(KEY_PIECES);
    const candidate = key + piece;
    if (Buffer.byteLength(candidate) > targetBytes) break;
    key = candidate;
    if (rng.chance(0.02)) break;
  }
  if (key === "") key = rng.pick(["a", "é", "😀", " ", "+", "%"]);
  // "." and ".." segments are refused (URL clients rewrite them); replace them.
  return key
    .split("/")
    .map((segment) => (segment === "." || segment === ".." ? `${segment}x` : segment))
    .join("/");
}

function randomString(rng: Rng): string {
  if (rng.chance(0.6)) return rng.pick(RESPONSE_VALUES);
  let s = "";
  const n = rng.int(1, 12);
  for (let i = 0; i < n; i++) s += rng.pick(KEY_PIECES);
  return s;
}

function randomChecksum(rng: Rng): string {
  const bytes = Buffer.alloc(32);
  for (let i = 0; i < 32; i++) bytes[i] = rng.int(0, 255);
  return bytes.toString("base64");
}

function randomBucket(rng: Rng): string {
  if (rng.chance(0.7)) return rng.pick(BUCKETS);
  const chars = "abcdefghijklmnopqrstuvwxyz0123456789";
  const length = rng.int(3, 63);
  let name = "";
  for (let i = 0; i < length; i++) {
    const inner = i > 0 && i < length - 1;
    name += inner && rng.chance(0.1) ? (name.endsWith(".") ? "-" : rng.pick([".", "-"])) : rng.pick([...chars]);
  }
  return name;
}

function randomDate(rng: Rng): Date {
  // 2000-01-01 .. 2099-12-31, with milliseconds (the SDK drops them).
  return new Date(rng.int(946_684_800, 4_102_444_799) * 1000 + rng.int(0, 999));
}

function randomExpiry(rng: Rng): number {
  return rng.pick([1, 2, 59, 60, 900, 3600, 86_400, 604_799, 604_800, rng.int(1, 604_800), rng.int(1, 604_800)]);
}

interface SignerPair {
  settings: S3ConnectionSettings;
  sdk: SdkUrlSigner;
  fast: FastUrlSigner;
}

function signerPairs(): SignerPair[] {
  const pairs: SignerPair[] = [];
  for (const endpoint of ENDPOINTS) {
    for (const [i, region] of REGIONS.entries()) {
      const settings = { endpoint, region, ...(CREDENTIALS[i % CREDENTIALS.length] as (typeof CREDENTIALS)[0]) };
      pairs.push({ settings, sdk: new SdkUrlSigner(settings), fast: new FastUrlSigner(settings) });
    }
  }
  return pairs;
}

function describeCase(seed: number, index: number, settings: S3ConnectionSettings, input: unknown): string {
  return JSON.stringify({ seed, index, settings, input }, (_k, v: unknown) => (v instanceof Date ? v.toISOString() : v), 2);
}

describe("FastUrlSigner vs SdkUrlSigner (differential)", () => {
  const pairs = signerPairs();

  it(
    `signs ${CASES} random PUTs and GETs byte-identically (seed ${SEED})`,
    async () => {
      const rng = prng(SEED);
      let compared = 0;
      for (let index = 0; index < CASES; index++) {
        const { settings, sdk, fast } = rng.pick(pairs);
        const bucket = randomBucket(rng);
        const key = randomKey(rng);
        const signingDate = randomDate(rng);

        const put: PresignPutInput = {
          bucket,
          key,
          contentType: rng.pick(CONTENT_TYPES),
          contentLength: rng.pick([0, 1, 1024, 5 * 1024 ** 3, rng.int(0, 2 ** 31), Number.MAX_SAFE_INTEGER]),
          expiresInSeconds: randomExpiry(rng),
          signingDate,
          ...(rng.chance(0.5) ? { checksumSha256: randomChecksum(rng) } : {}),
          ...(rng.chance(0.5) ? { ifNoneMatch: true } : rng.chance(0.2) ? { ifNoneMatch: false } : {}),
        };
        const expected = await sdk.presignPut(put);
        const actual = await fast.presignPut(put);
        if (actual.url !== expected.url || JSON.stringify(actual.headers) !== JSON.stringify(expected.headers)) {
          console.error(`PUT mismatch:\n${describeCase(SEED, index, settings, put)}`);
          expect(actual).toEqual(expected);
        }

        const get: PresignGetInput = {
          bucket,
          key,
          expiresInSeconds: randomExpiry(rng),
          signingDate,
          ...(rng.chance(0.4) ? { responseContentType: randomString(rng) } : {}),
          ...(rng.chance(0.4) ? { responseContentDisposition: randomString(rng) } : {}),
          ...(rng.chance(0.4) ? { responseCacheControl: randomString(rng) } : {}),
          ...(rng.chance(0.4) ? { responseContentEncoding: randomString(rng) } : {}),
          ...(rng.chance(0.4) ? { responseContentLanguage: randomString(rng) } : {}),
        };
        const expectedGet = await sdk.presignGet(get);
        const actualGet = await fast.presignGet(get);
        if (actualGet !== expectedGet) {
          console.error(`GET mismatch:\n${describeCase(SEED, index, settings, get)}`);
          expect(actualGet).toBe(expectedGet);
        }
        compared += 2;
      }
      expect(compared).toBe(CASES * 2);
    },
    60_000 + CASES * 20,
  );

  it(
    `signs ${CASES} random UploadPart URLs byte-identically (seed ${SEED})`,
    async () => {
      const rng = prng(SEED + 1);
      for (let index = 0; index < CASES; index++) {
        const { settings, sdk, fast } = rng.pick(pairs);
        const input: PresignUploadPartInput = {
          bucket: randomBucket(rng),
          key: randomKey(rng),
          // R2's upload ids are long opaque strings; the embedded server's are hex
          storageUploadId: rng.chance(0.5) ? randomString(rng) : randomChecksum(rng),
          partNumber: rng.pick([1, 2, 9_999, 10_000, rng.int(1, 10_000)]),
          contentLength: rng.pick([0, 5 * 1024 ** 2, rng.int(0, 2 ** 31)]),
          expiresInSeconds: randomExpiry(rng),
          signingDate: randomDate(rng),
        };
        const expected = await sdk.presignUploadPart(input);
        const actual = await fast.presignUploadPart(input);
        if (actual.url !== expected.url || JSON.stringify(actual.headers) !== JSON.stringify(expected.headers)) {
          console.error(`UploadPart mismatch:\n${describeCase(SEED + 1, index, settings, input)}`);
          expect(actual).toEqual(expected);
        }
      }
    },
    60_000 + CASES * 20,
  );

  it("both signers refuse a part number outside 1..10000", async () => {
    const { sdk, fast } = pairs[0] as SignerPair;
    for (const partNumber of [0, 10_001, 1.5]) {
      const input = { bucket: "abc", key: "k", storageUploadId: "u", partNumber, contentLength: 1, expiresInSeconds: 60 };
      await expect(sdk.presignUploadPart(input)).rejects.toThrow(RangeError);
      await expect(fast.presignUploadPart(input)).rejects.toThrow(RangeError);
    }
  });

  it("returns exactly the headers the client must send", async () => {
    const { fast } = pairs[0] as SignerPair;
    const base = { bucket: "abc", key: "k", contentType: "image/png", contentLength: 42, expiresInSeconds: 60 };
    expect((await fast.presignPut(base)).headers).toEqual({ "content-type": "image/png", "content-length": "42" });
    const checksum = Buffer.alloc(32, 7).toString("base64");
    const full = await fast.presignPut({ ...base, ifNoneMatch: true, checksumSha256: checksum });
    expect(full.headers).toEqual({
      "content-type": "image/png",
      "content-length": "42",
      "if-none-match": "*",
      "x-amz-checksum-sha256": checksum,
    });
    const query = new URL(full.url).searchParams;
    expect(query.get("X-Amz-SignedHeaders")).toBe("content-length;content-type;host;if-none-match;x-amz-checksum-sha256");
    // Signed headers, not query parameters; and no checksum of an empty body.
    for (const name of query.keys()) expect(name.toLowerCase()).not.toMatch(/checksum|if-none-match/);
  });

  it("with every option set, both signers sign and return exactly SIGNED_PUT_HEADERS (the list the buckets' CORS rule allows)", async () => {
    const { fast, sdk } = pairs[0] as SignerPair;
    const input = {
      bucket: "abc",
      key: "k",
      contentType: "image/png",
      contentLength: 42,
      expiresInSeconds: 60,
      ifNoneMatch: true,
      checksumSha256: Buffer.alloc(32, 7).toString("base64"),
    };
    const expectedSigned = [...SIGNED_PUT_HEADERS, "host"].sort().join(";");
    for (const signer of [fast, sdk]) {
      const signed = await signer.presignPut(input);
      expect(new URL(signed.url).searchParams.get("X-Amz-SignedHeaders")).toBe(expectedSigned);
      expect(Object.keys(signed.headers).sort()).toEqual([...SIGNED_PUT_HEADERS].sort());
    }
  });

  it("uses the current time when no signingDate is given", async () => {
    const { fast, sdk } = pairs[0] as SignerPair;
    const input = { bucket: "abc", key: "k", expiresInSeconds: 60 };
    const amzDate = (url: string): number => {
      const d = new URL(url).searchParams.get("X-Amz-Date") ?? "";
      return Date.parse(`${d.slice(0, 4)}-${d.slice(4, 6)}-${d.slice(6, 8)}T${d.slice(9, 11)}:${d.slice(11, 13)}:${d.slice(13, 15)}Z`);
    };
    const before = Date.now() - 1000;
    const fastDate = amzDate(await fast.presignGet(input));
    const sdkDate = amzDate(await sdk.presignGet(input));
    const after = Date.now();
    for (const date of [fastDate, sdkDate]) {
      expect(date).toBeGreaterThanOrEqual(before);
      expect(date).toBeLessThanOrEqual(after);
    }
  });

  it("both signers refuse the same invalid inputs", async () => {
    const { fast, sdk } = pairs[0] as SignerPair;
    const put: PresignPutInput = { bucket: "abc", key: "k", contentType: "image/png", contentLength: 1, expiresInSeconds: 60 };
    const invalid: PresignPutInput[] = [
      { ...put, key: "" },
      { ...put, key: "a/./b" },
      { ...put, key: "../etc" },
      { ...put, key: "a/.." },
      { ...put, key: "x".repeat(MAX_KEY_BYTES + 1) },
      { ...put, key: "é".repeat(MAX_KEY_BYTES / 2 + 1) },
      { ...put, key: "lone \ud800 surrogate" },
      { ...put, bucket: "Upper" },
      { ...put, bucket: "ab" },
      { ...put, bucket: "a b c" },
      { ...put, bucket: "a..b" },
      { ...put, expiresInSeconds: 0 },
      { ...put, expiresInSeconds: 604_801 },
      { ...put, expiresInSeconds: 1.5 },
      { ...put, contentType: "" },
      { ...put, contentType: "text/plain\r\nx-evil: 1" },
      { ...put, contentType: "image/pngé" },
      { ...put, contentLength: -1 },
      { ...put, contentLength: 1.5 },
      { ...put, checksumSha256: "not-base64" },
      { ...put, signingDate: new Date(Number.NaN) },
    ];
    for (const input of invalid) {
      await expect(fast.presignPut(input), JSON.stringify(input)).rejects.toThrow(RangeError);
      await expect(sdk.presignPut(input), JSON.stringify(input)).rejects.toThrow(RangeError);
    }
    const get: PresignGetInput = { bucket: "abc", key: "k", expiresInSeconds: 60 };
    for (const input of [
      { ...get, responseContentType: "" },
      { ...get, responseContentDisposition: "\udc00" },
      { ...get, responseCacheControl: "" },
      { ...get, responseContentEncoding: "" },
      { ...get, responseContentLanguage: "\udc00" },
    ]) {
      await expect(fast.presignGet(input)).rejects.toThrow(RangeError);
      await expect(sdk.presignGet(input)).rejects.toThrow(RangeError);
    }
    // The largest legal key is fine.
    const longest = { ...put, key: "é".repeat(MAX_KEY_BYTES / 2), signingDate: new Date(0) };
    expect((await fast.presignPut(longest)).url).toBe((await sdk.presignPut(longest)).url);
  });

  it("refuses endpoints it cannot sign for", () => {
    const base = { region: "auto", accessKeyId: "a", secretAccessKey: "b" };
    for (const endpoint of ["ftp://host", "http://u:p@host", "http://host?x=1", "http://host/#f", "http://host/a%20b", "nope"]) {
      expect(() => new FastUrlSigner({ ...base, endpoint }), endpoint).toThrow(RangeError);
    }
    expect(() => new FastUrlSigner({ ...base, endpoint: "http://h", region: "US East" })).toThrow(RangeError);
  });

  it("does not load the S3 client: its bundle holds no package at all, only node:crypto", async () => {
    const result = await build({
      entryPoints: [fileURLToPath(new URL("./fast-url-signer.ts", import.meta.url))],
      bundle: true,
      write: false,
      metafile: true,
      platform: "node",
      format: "esm",
      logLevel: "silent",
    });
    const inputs = Object.keys(result.metafile.inputs);
    expect(inputs.filter((path) => path.includes("node_modules"))).toEqual([]);
    const imports = Object.values(result.metafile.outputs).flatMap((output) => output.imports.map((i) => i.path));
    expect(imports).toEqual(["node:crypto"]);
  });
});
