/**
 * Signing benchmark: cost of one presigned PUT URL with
 *   - the SDK's `getSignedUrl` (the reference),
 *   - `SignatureV4.presign` from `@smithy/signature-v4` (what the SDK uses underneath),
 *   - the project's `FastUrlSigner`,
 *   - the floor: one SHA-256 of a canonical request + one HMAC of a string to sign (cached key).
 *
 * Same input for all, fixed signing date (so every signer can reuse its per-day signing key, as
 * in production). Warm-up, then the median over several rounds of the per-URL CPU time (process
 * user + system time, so a busy machine does not inflate it); rounds of the four are interleaved
 * so that machine noise hits all of them alike.
 *
 *   npx tsx bench/signing.ts [--quick]
 */
import { createHash, createHmac } from "node:crypto";
import { pathToFileURL } from "node:url";
import { PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import { FastUrlSigner } from "@fitkit/core/adapters/s3/fast-url-signer";
import type { PresignPutInput, S3ConnectionSettings } from "@fitkit/core/storage/url-signer";
import { SignatureV4 } from "@smithy/signature-v4";

export interface SigningBenchResult {
  /** `getSignedUrl(S3Client, PutObjectCommand)` per URL, µs. */
  sdkUsPerUrl: number;
  /** `FastUrlSigner.presignPut` per URL, µs. */
  projectUsPerUrl: number;
  /** `SignatureV4.presign` of the equivalent request (no URL formatting), µs. */
  sdkSignatureV4UsPerUrl: number;
  /** One SHA-256 + one HMAC-SHA256 (node:crypto) of typical sizes, µs. */
  floorUsPerUrl: number;
  /** sdkUsPerUrl / projectUsPerUrl (target: ≥ 8). */
  speedupVsSdk: number;
}

const SETTINGS: S3ConnectionSettings = {
  endpoint: "https://0123456789abcdef0123456789abcdef.r2.cloudflarestorage.com",
  region: "auto",
  accessKeyId: "0123456789abcdef0123456789abcdef",
  secretAccessKey: "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
};
const SIGNING_DATE = new Date("2025-03-14T15:09:26Z");
const INPUT: PresignPutInput = {
  bucket: "fitkit-uploads",
  key: "uploads/user_2abcDEF123/01JQ8Z6X9K3M7N2P4R5S6T7V8W/Morning run 2025-03-14 (1).jpg",
  contentType: "image/jpeg",
  contentLength: 3_482_117,
  checksumSha256: "n4bQgYhMfWWaL+qgxVrQFaO/TxsrC4Is0V1sFbDwCgg=",
  ifNoneMatch: true,
  expiresInSeconds: 900,
  signingDate: SIGNING_DATE,
};

type Op = () => unknown;

/** Node's crypto behind the `Checksum` shape `SignatureV4` expects (what @smithy/hash-node does). */
class NodeSha256 {
  readonly #hash;
  constructor(secret?: string | ArrayBuffer | ArrayBufferView) {
    this.#hash = secret === undefined ? createHash("sha256") : createHmac("sha256", typeof secret === "string" ? secret : toBuffer(secret));
  }
  update(data: string | ArrayBuffer | ArrayBufferView): void {
    this.#hash.update(typeof data === "string" ? data : toBuffer(data));
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.#hash.digest());
  }
  reset(): void {
    throw new Error("not needed by the presigner");
  }
}

function toBuffer(data: ArrayBuffer | ArrayBufferView): Buffer {
  return ArrayBuffer.isView(data) ? Buffer.from(data.buffer, data.byteOffset, data.byteLength) : Buffer.from(data);
}

function buildOps() {
  const client = new S3Client({
    endpoint: SETTINGS.endpoint,
    region: SETTINGS.region,
    credentials: { accessKeyId: SETTINGS.accessKeyId, secretAccessKey: SETTINGS.secretAccessKey },
    forcePathStyle: true,
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
  });
  const sdk = () =>
    getSignedUrl(
      client,
      new PutObjectCommand({
        Bucket: INPUT.bucket,
        Key: INPUT.key,
        ContentType: INPUT.contentType,
        ContentLength: INPUT.contentLength,
        ChecksumSHA256: INPUT.checksumSha256,
        IfNoneMatch: "*",
      }),
      {
        expiresIn: INPUT.expiresInSeconds,
        signingDate: SIGNING_DATE,
        signableHeaders: new Set(["content-type", "content-length"]),
        unhoistableHeaders: new Set(["x-amz-checksum-sha256"]),
      },
    );

  const fastSigner = new FastUrlSigner(SETTINGS);
  const project = () => fastSigner.presignPut(INPUT);

  // The request S3RequestPresigner hands to SignatureV4 for this PutObject.
  const host = new URL(SETTINGS.endpoint).host;
  const signatureV4 = new SignatureV4({
    service: "s3",
    region: SETTINGS.region,
    credentials: { accessKeyId: SETTINGS.accessKeyId, secretAccessKey: SETTINGS.secretAccessKey },
    sha256: NodeSha256,
    uriEscapePath: false,
    applyChecksum: false,
  });
  const request = {
    method: "PUT",
    protocol: "https:",
    hostname: host,
    path: `/${INPUT.bucket}/${INPUT.key.split("/").map(encodeRfc3986).join("/")}`,
    query: { "x-id": "PutObject" },
    headers: {
      "content-type": INPUT.contentType,
      "content-length": String(INPUT.contentLength),
      "if-none-match": "*",
      "x-amz-checksum-sha256": INPUT.checksumSha256 as string,
      "X-Amz-Content-Sha256": "UNSIGNED-PAYLOAD",
      host,
    },
  };
  const sdkSignatureV4 = () =>
    signatureV4.presign(request, {
      expiresIn: INPUT.expiresInSeconds,
      signingDate: SIGNING_DATE,
      signableHeaders: new Set(["content-type", "content-length"]),
      unsignableHeaders: new Set(["content-type"]),
      unhoistableHeaders: new Set(["x-amz-checksum-sha256"]),
    });

  // Typical sizes: a PUT canonical request (~600 B) and string to sign (~140 B), cached key.
  const canonicalRequest = "x".repeat(600);
  const stringToSignHead = "AWS4-HMAC-SHA256\n20250314T150926Z\n20250314/auto/s3/aws4_request\n";
  const signingKey = createHmac("sha256", "k").update("d").digest();
  const floor = () => {
    const hash = createHash("sha256").update(canonicalRequest).digest("hex");
    return createHmac("sha256", signingKey)
      .update(stringToSignHead + hash)
      .digest("hex");
  };

  return { sdk, project, sdkSignatureV4, floor };
}

function encodeRfc3986(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** Before timing anything: all three signers must produce the same signature. */
async function checkAgreement(ops: ReturnType<typeof buildOps>): Promise<void> {
  const sdkUrl = new URL(await ops.sdk());
  const projectUrl = new URL((await ops.project()).url);
  const presigned = await ops.sdkSignatureV4();
  const signatures = [sdkUrl.searchParams.get("X-Amz-Signature"), projectUrl.searchParams.get("X-Amz-Signature"), presigned.query?.["X-Amz-Signature"]];
  if (sdkUrl.href !== projectUrl.href || new Set(signatures).size !== 1) {
    throw new Error(`Signers disagree:\n${sdkUrl.href}\n${projectUrl.href}\n${JSON.stringify(signatures)}`);
  }
}

/**
 * µs of process CPU time (user + system) per call. CPU time rather than wall-clock time, so that
 * other processes competing for the cores (a parallel test run) do not inflate the numbers.
 */
async function timeOp(op: Op, iterations: number): Promise<number> {
  const start = process.cpuUsage();
  for (let i = 0; i < iterations; i++) await op();
  const used = process.cpuUsage(start);
  return (used.user + used.system) / iterations;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

export async function benchSigning(options: { quick: boolean }): Promise<SigningBenchResult> {
  const ops = buildOps();
  await checkAgreement(ops);

  const rounds = options.quick ? 5 : 11;
  const roundMs = options.quick ? 40 : 150;
  const named = Object.entries(ops) as [keyof typeof ops, Op][];

  // Warm-up (JIT, caches) and calibration: iterations per round so that a round lasts ~roundMs.
  const iterations = {} as Record<keyof typeof ops, number>;
  for (const [name, op] of named) {
    await timeOp(op, options.quick ? 50 : 200);
    const estimateUs = await timeOp(op, options.quick ? 50 : 200);
    iterations[name] = Math.max(20, Math.round((roundMs * 1000) / Math.max(estimateUs, 0.1)));
  }

  const samples = Object.fromEntries(named.map(([name]) => [name, [] as number[]])) as Record<keyof typeof ops, number[]>;
  for (let round = 0; round < rounds; round++) {
    for (const [name, op] of named) samples[name].push(await timeOp(op, iterations[name]));
  }

  const sdkUsPerUrl = median(samples.sdk);
  const projectUsPerUrl = median(samples.project);
  return {
    sdkUsPerUrl,
    projectUsPerUrl,
    sdkSignatureV4UsPerUrl: median(samples.sdkSignatureV4),
    floorUsPerUrl: median(samples.floor),
    speedupVsSdk: sdkUsPerUrl / projectUsPerUrl,
  };
}

function printTable(result: SigningBenchResult): void {
  const rows: [string, number][] = [
    ["SDK getSignedUrl", result.sdkUsPerUrl],
    ["@smithy SignatureV4.presign", result.sdkSignatureV4UsPerUrl],
    ["FastUrlSigner (project)", result.projectUsPerUrl],
    ["floor: 1 SHA-256 + 1 HMAC", result.floorUsPerUrl],
  ];
  console.log("Presigned PUT URL, per URL (median of rounds):");
  for (const [name, us] of rows) {
    const ratio = result.sdkUsPerUrl / us;
    console.log(`  ${name.padEnd(30)} ${us.toFixed(2).padStart(9)} µs   ${ratio.toFixed(1).padStart(6)}× faster than SDK`);
  }
  const target = result.speedupVsSdk >= 8 ? "meets" : "MISSES";
  console.log(`  speedup vs SDK: ${result.speedupVsSdk.toFixed(1)}× (${target} the ≥ 8× target)`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const result = await benchSigning({ quick: process.argv.includes("--quick") });
  printTable(result);
}
