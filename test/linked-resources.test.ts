/**
 * Every deployed function reaches what it needs through the links its entry in the function table
 * (`stacks/functions.ts`, `links`) gives it — and nothing else. On Lambda a function reads a link
 * it was not given (`Resource.<Name>` with `SST_RESOURCE_<Name>` unset) only at first use, as a
 * ConfigError: a 500 on a path nothing else exercises. The local stack cannot show it (one process,
 * every link set, dependencies built once and shared by all handlers), so here each function's
 * real bundle (scripts/build.ts) runs in a Node process of its own whose environment holds only the
 * `SST_RESOURCE_*` variables of its links (and `App`, which SST links to every function), plus
 * what Lambda's runtime sets (region, credentials; the endpoint variables point the SDK's Lambda and
 * SQS clients at test/support/aws-endpoints.ts). The values are those the stack links (stacks/links.ts),
 * pointing at real parts: Upstash's REST API (the bridge over a real redis-server), the
 * SigV4-checking S3 server, a Clerk key generated here, the scanner Lambda's handler on a real clamd.
 *
 * Each function gets an event that goes through its dependencies — a chain of real uploads from
 * presign to release — and must answer its documented success, with no ConfigError logged and
 * virus scanning on wherever the function scans.
 */
import { type ChildProcess, fork } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { fileURLToPath } from "node:url";
import { ClamdScanner } from "@fitkit/core/adapters/clamd/clamd-scanner";
import { configSchemas } from "@fitkit/core/config";
import { RECORDS_PREFIX } from "@fitkit/core/policies/object-keys";
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from "aws-lambda";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SCHEDULED_EVENT } from "../functions/lib/scheduled-event.js";
import { type DevKeyPair, generateDevKeyPair, signDevToken } from "../local/dev-auth.js";
import { type EmbeddedS3, startEmbeddedS3 } from "../local/embedded-s3.js";
import { resourceVariables } from "../local/env.js";
import { sqsEvent, timeoutToMs } from "../local/functions.js";
import { readDefinitionsBuiltAt } from "../scanner/src/clamd-daemon.js";
import { handleScanRequest } from "../scanner/src/scan.js";
import { buildHandlers } from "../scripts/build.js";
import { FUNCTION_KEYS, FUNCTIONS, type FunctionKey, functionSpec, type LinkName, type RouteKey } from "../stacks/functions.js";
import { type ClamdServer, startClamd } from "../support/clamd.js";
import { mp4Bytes, pdfBytes, pngImage } from "../support/media.js";
import { type RedisServer, startRedisServer } from "../support/redis-server.js";
import { startUpstashBridge, type UpstashBridge } from "../support/upstash-bridge.js";
import { type AwsEndpoints, startAwsEndpoints } from "./support/aws-endpoints.js";
import { sleep } from "./support/fixtures.js";
import { linkInstalledPackages } from "./support/installed-packages.js";

const RUNNER = fileURLToPath(new URL("./support/invoke-bundle.mjs", import.meta.url));
const BUCKETS = { media: "fitkit-media", compliance: "fitkit-compliance", records: "fitkit-records", public: "fitkit-public" };
const SCANNER_FUNCTION = "fitkit-uploads-test-scanner";
const ORG = "org_links";
const ADMIN = "user_admin";

let outdir: string;
let redis: RedisServer;
let bridge: UpstashBridge;
let s3: EmbeddedS3;
let clamd: ClamdServer;
let aws: AwsEndpoints;
let keys: DevKeyPair;
/** A session of an admin of ORG, signed with the key the Clerk link carries. */
let adminToken: string;
let linkValues: Record<LinkName, unknown>;

beforeAll(async () => {
  outdir = await mkdtemp(join(tmpdir(), "fitkit-links-"));
  keys = generateDevKeyPair();
  adminToken = await signDevToken(keys.privateKeyPem, { userId: ADMIN, orgId: ORG, role: "admin" });
  [, redis, s3, clamd] = await Promise.all([
    buildHandlers({ outdir }),
    startRedisServer(),
    startEmbeddedS3({
      directory: join(outdir, "s3"),
      buckets: Object.values(BUCKETS),
      // The records bucket is locked whole, as stacks/storage.ts locks it on R2.
      retentionLocks: [{ bucket: BUCKETS.records, prefix: "" }],
    }),
    startClamd(),
  ]);
  await linkInstalledPackages(outdir);
  bridge = await startUpstashBridge({ redisUrl: redis.url });
  const scanner = new ClamdScanner({ host: clamd.host, port: clamd.port });
  // The scanner Lambda's own handler (scanner/src/scan.ts), reading the objects from the local S3 server.
  aws = await startAwsEndpoints({
    [SCANNER_FUNCTION]: (payload) =>
      handleScanRequest(
        {
          scanner: async () => scanner,
          sourceHostSuffix: "127.0.0.1",
          allowHttp: true,
          definitions: { builtAt: () => readDefinitionsBuiltAt(clamd), maxAgeSeconds: 48 * 3600 },
        },
        payload,
      ),
  });
  // The shapes stacks/links.ts links (R2 tokens without a region: R2's "auto" is the default).
  const r2 = { endpoint: s3.endpoint, accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey };
  linkValues = {
    MediaBucket: { name: BUCKETS.media },
    ComplianceBucket: { name: BUCKETS.compliance },
    RecordsBucket: { name: BUCKETS.records },
    R2MediaWriter: r2,
    R2ComplianceWriter: r2,
    R2RecordsWriter: r2,
    R2Reader: r2,
    R2MediaReader: r2,
    Redis: { restUrl: bridge.url, restToken: bridge.token },
    Clerk: { jwtKey: keys.publicKeyPem, authorizedParties: "" },
    ScannerFunction: { name: SCANNER_FUNCTION },
    UploadSettings: configSchemas.UploadSettings.parse({}),
    MediaQueue: { url: aws.queueUrl("MediaQueue") },
    PublicMedia: { ...r2, name: BUCKETS.public, baseUrl: "https://media.fitkit.test/" },
  };
}, 180_000);

afterAll(async () => {
  await Promise.all([aws?.close(), bridge?.close(), s3?.close(), clamd?.close()]);
  await redis?.close();
  await rm(outdir, { recursive: true, force: true });
});

type LinkValues = Partial<Record<LinkName, unknown>>;

/** What a function's Lambda environment holds: its links (values as linked, or as `overrides` says), `App`, and what the runtime sets. */
function lambdaEnvironment(key: FunctionKey, overrides: LinkValues): Record<string, string> {
  const links: readonly LinkName[] = FUNCTIONS[key].links;
  const values = { ...linkValues, ...overrides };
  return {
    ...resourceVariables({ App: { name: "fitkit-uploads", stage: "test" }, ...Object.fromEntries(links.map((link) => [link, values[link]])) }),
    AWS_REGION: "eu-west-1",
    AWS_ACCESS_KEY_ID: "AKIDLINKSTEST",
    AWS_SECRET_ACCESS_KEY: "links-test-secret",
    AWS_ENDPOINT_URL_LAMBDA: aws.url,
    AWS_ENDPOINT_URL_SQS: aws.url,
  };
}

interface Invocation {
  reply: unknown;
  log: string;
}

/** One invocation of `key`'s bundle in a process of its own (test/support/invoke-bundle.mjs). */
async function invokeBundle(key: FunctionKey, event: unknown, overrides: LinkValues = {}): Promise<Invocation> {
  const bundle = join(outdir, basename(FUNCTIONS[key].handler, ".handler"), "index.mjs");
  const child: ChildProcess = fork(RUNNER, [], { cwd: outdir, env: lambdaEnvironment(key, overrides), execArgv: [], stdio: ["ignore", "pipe", "pipe", "ipc"] });
  let log = "";
  child.stdout!.on("data", (chunk: Buffer) => {
    log += chunk.toString("utf8");
  });
  child.stderr!.on("data", (chunk: Buffer) => {
    log += chunk.toString("utf8");
  });
  let outcome: { reply?: unknown; thrown?: string } | undefined;
  child.on("message", (message: typeof outcome) => {
    outcome = message;
  });
  const closed = new Promise<number | null>((done) => child.once("close", (code) => done(code)));
  child.send({ bundle, functionName: key, timeoutMs: timeoutToMs(functionSpec(key).timeout), event });
  const code = await closed;
  if (!outcome) throw new Error(`${key} exited (${code}) without a reply:\n${log}`);
  if (outcome.thrown !== undefined) throw new Error(`${key} threw ${outcome.thrown}:\n${log}`);
  return { reply: outcome.reply, log };
}

/** Log lines that say a link was missing, that a function runs without virus scanning, or any unhandled error (a 500). */
const linkProblems = (log: string): string[] =>
  log.split("\n").filter((line) => /ConfigError|is not linked|holds no token|virus scanning is OFF|unhandled error/.test(line));

/** An invocation that logged no link problem: checked first, so a missing link fails naming itself rather than as the status it causes. */
async function invokeChecked(key: FunctionKey, event: unknown, overrides: LinkValues = {}): Promise<Invocation> {
  const invocation = await invokeBundle(key, event, overrides);
  expect(linkProblems(invocation.log), `${key} logged`).toEqual([]);
  return invocation;
}

type HttpFunctionKey = { [K in FunctionKey]: (typeof FUNCTIONS)[K] extends { route: RouteKey } ? K : never }[FunctionKey];

interface HttpRequest {
  params?: Record<string, string>;
  token?: string;
  json?: unknown;
  bytes?: { contentType: string; body: Buffer };
}

/** The API Gateway v2 event of `key`'s route, as API Gateway sends it. */
function httpEvent(key: HttpFunctionKey, request: HttpRequest = {}): APIGatewayProxyEventV2 {
  const route = FUNCTIONS[key].route;
  const [method, pattern] = route.split(" ") as [string, string];
  const path = pattern.replace(/\{(\w+)\}/g, (_, name: string) => request.params?.[name] ?? "");
  const headers: Record<string, string> = { "user-agent": "linked-resources-test" };
  if (request.token) headers.authorization = `Bearer ${request.token}`;
  if (request.json !== undefined) headers["content-type"] = "application/json";
  if (request.bytes) headers["content-type"] = request.bytes.contentType;
  const body =
    request.json !== undefined
      ? { body: JSON.stringify(request.json), isBase64Encoded: false }
      : request.bytes
        ? { body: request.bytes.body.toString("base64"), isBase64Encoded: true }
        : { isBase64Encoded: false };
  return {
    version: "2.0",
    routeKey: route,
    rawPath: path,
    rawQueryString: "",
    headers,
    ...(request.params ? { pathParameters: request.params } : {}),
    requestContext: {
      accountId: "000000000000",
      apiId: "links",
      domainName: "api.fitkit.test",
      domainPrefix: "api",
      http: { method, path, protocol: "HTTP/1.1", sourceIp: "203.0.113.7", userAgent: "linked-resources-test" },
      requestId: crypto.randomUUID(),
      routeKey: route,
      stage: "$default",
      time: new Date().toUTCString(),
      timeEpoch: Date.now(),
    },
    ...body,
  };
}

/** A reply body, checked field by field by the steps. */
type Json = any;

function http(invocation: Invocation): { status: number; body: Json } {
  const reply = invocation.reply as APIGatewayProxyStructuredResultV2;
  return { status: reply.statusCode ?? 0, body: reply.body ? JSON.parse(reply.body) : null };
}

/** A PUT to a presigned URL with the headers it was signed with; storage's status. */
async function putTo(url: string, headers: Record<string, string>, body: Buffer): Promise<number> {
  const res = await fetch(url, { method: "PUT", headers, body: new Uint8Array(body) });
  await res.arrayBuffer();
  return res.status;
}

/** What the steps hand on to later ones. */
const chain = {
  logo: { uploadId: "", key: "" },
  photo: { uploadId: "" },
  video: { uploadId: "", part: Buffer.alloc(0) },
  signature: { tokens: [] as string[], directUploadId: "", uploadIds: [] as string[], recordKeys: [] as string[] },
};

const logo = pngImage(64, 48);
const signature = pngImage(40, 20);
const signaturePdf = pdfBytes();

type Invoke = (event: unknown) => Promise<Invocation>;
type Step = (invoke: Invoke) => Promise<void>;

/**
 * One step per function of the table (a function without one does not compile), run in this
 * order: each gets an event that goes through its dependencies, and checks its documented reply.
 */
const STEPS = {
  health: async (invoke) => {
    expect(http(await invoke(httpEvent("health")))).toEqual({ status: 200, body: { ok: true } });
  },
  "upload-policy": async (invoke) => {
    const { status, body } = http(await invoke(httpEvent("upload-policy", { token: adminToken })));
    expect({ status, logo: body.ownerTypes.some((t: Json) => t.ownerType === "organization_logo") }).toEqual({ status: 200, logo: true });
  },
  presign: async (invoke) => {
    const logoReply = http(
      await invoke(
        httpEvent("presign", { token: adminToken, json: { ownerType: "organization_logo", files: [{ contentType: "image/png", size: logo.length }] } }),
      ),
    );
    expect(logoReply.status).toBe(201);
    const [put] = logoReply.body.uploads;
    expect(await putTo(put.url, put.headers, logo)).toBe(200);
    chain.logo = { uploadId: put.uploadId, key: put.key };

    // A photo to cancel, and a video uploaded in parts (CreateMultipartUpload with the media writer).
    chain.video.part = Buffer.concat([mp4Bytes(), Buffer.alloc(2048, 7)]);
    const files = [
      { contentType: "image/png", size: logo.length },
      { contentType: "video/mp4", size: chain.video.part.length, multipart: true },
    ];
    const commentReply = http(await invoke(httpEvent("presign", { token: adminToken, json: { ownerType: "exercise_comment", files } })));
    expect({ status: commentReply.status, modes: commentReply.body.uploads.map((u: Json) => u.mode) }).toEqual({ status: 201, modes: ["single", "multipart"] });
    chain.photo.uploadId = commentReply.body.uploads[0].uploadId;
    chain.video.uploadId = commentReply.body.uploads[1].uploadId;
  },
  "upload-parts": async (invoke) => {
    const { status, body } = http(
      await invoke(httpEvent("upload-parts", { token: adminToken, params: { uploadId: chain.video.uploadId }, json: { partNumbers: [1] } })),
    );
    expect(status).toBe(201);
    expect(await putTo(body.parts[0].url, body.parts[0].headers, chain.video.part)).toBe(200);
  },
  "list-upload-parts": async (invoke) => {
    const { status, body } = http(await invoke(httpEvent("list-upload-parts", { token: adminToken, params: { uploadId: chain.video.uploadId } })));
    expect({ status, parts: body.parts.map((p: Json) => [p.partNumber, p.size]) }).toEqual({ status: 200, parts: [[1, chain.video.part.length]] });
  },
  "complete-upload": async (invoke) => {
    const { status, body } = http(await invoke(httpEvent("complete-upload", { token: adminToken, params: { uploadId: chain.video.uploadId }, json: {} })));
    expect({ status, size: body.size }).toEqual({ status: 200, size: chain.video.part.length });
  },
  "cancel-upload": async (invoke) => {
    expect(http(await invoke(httpEvent("cancel-upload", { token: adminToken, params: { uploadId: chain.photo.uploadId } }))).status).toBe(204);
  },
  "issue-signature-token": async (invoke) => {
    for (const submissionId of ["sub_put", "sub_direct"]) {
      const { reply } = await invoke({ orgId: ORG, formId: "form_links", submissionId });
      expect(reply).toMatchObject({ token: expect.any(String), path: expect.stringMatching(/^\/public\/signatures\//) });
      chain.signature.tokens.push((reply as { token: string }).token);
    }
  },
  "public-signature-put": async (invoke) => {
    const scans = aws.invoked.length;
    const event = httpEvent("public-signature-put", { params: { token: chain.signature.tokens[0]! }, bytes: { contentType: "image/png", body: signature } });
    const { status, body } = http(await invoke(event));
    expect({ status, size: body.size }).toEqual({ status: 201, size: signature.length });
    expect(aws.invoked.slice(scans)).toEqual([SCANNER_FUNCTION]);
    chain.signature.uploadIds.push(body.uploadId);
  },
  "public-signature-upload-request": async (invoke) => {
    const json = { contentType: "application/pdf", size: signaturePdf.length };
    const { status, body } = http(await invoke(httpEvent("public-signature-upload-request", { params: { token: chain.signature.tokens[1]! }, json })));
    expect(status).toBe(201);
    expect(await putTo(body.url, body.headers, signaturePdf)).toBe(200);
    chain.signature.directUploadId = body.uploadId;
  },
  "public-signature-complete": async (invoke) => {
    const scans = aws.invoked.length;
    const event = httpEvent("public-signature-complete", { params: { token: chain.signature.tokens[1]! }, json: { uploadId: chain.signature.directUploadId } });
    const { status, body } = http(await invoke(event));
    expect({ status, size: body.size }).toEqual({ status: 200, size: signaturePdf.length });
    expect(aws.invoked.slice(scans)).toEqual([SCANNER_FUNCTION]);
    chain.signature.uploadIds.push(body.uploadId);
  },
  consume: async (invoke) => {
    const scans = aws.invoked.length;
    const { reply } = await invoke({
      uploadIds: [chain.logo.uploadId],
      ownerType: "organization_logo",
      owner: { orgId: ORG, userId: ADMIN },
      idempotencyKey: "links-consume-1",
    });
    expect(reply).toEqual({ uploads: [expect.objectContaining({ uploadId: chain.logo.uploadId, key: chain.logo.key, size: logo.length })] });
    // Scanned by the scanner Lambda, and the image handed to the media queue.
    expect(aws.invoked.slice(scans)).toEqual([SCANNER_FUNCTION]);

    // The signatures: promoted from the compliance bucket's incoming/ to records/ of the records bucket.
    const signed = await invoke({
      uploadIds: chain.signature.uploadIds,
      ownerType: "form_signature",
      owner: { orgId: ORG },
      idempotencyKey: "links-consume-2",
    });
    expect((signed.reply as { uploads: Json[] }).uploads.map((u) => ({ bucket: u.bucket, record: u.key.startsWith(RECORDS_PREFIX) }))).toEqual([
      { bucket: BUCKETS.records, record: true },
      { bucket: BUCKETS.records, record: true },
    ]);
    chain.signature.recordKeys = (signed.reply as { uploads: Json[] }).uploads.map((u) => u.key as string);
  },
  "process-media": async (invoke) => {
    const messages = aws.receive("MediaQueue");
    expect(messages.map((m) => JSON.parse(m.body).key)).toEqual([chain.logo.key]);
    const { reply, log } = await invoke(
      sqsEvent(
        "MediaQueue",
        messages.map((m) => ({ ...m, receiveCount: 1 })),
      ),
    );
    expect(reply).toEqual({ batchItemFailures: [] });
    expect(log).toContain("media processed");
  },
  "signed-urls": async (invoke) => {
    const { status, body } = http(await invoke(httpEvent("signed-urls", { token: adminToken, json: { keys: [chain.logo.key], variant: "thumb" } })));
    expect({ status, urls: body.urls.map((u: Json) => ({ status: u.status, signed: typeof u.url === "string" })) }).toEqual({
      status: 200,
      urls: [{ status: "ready", signed: true }],
    });
    // A retained record is read from the records bucket, through a URL signed with the reader.
    const records = http(await invoke(httpEvent("signed-urls", { token: adminToken, json: { keys: chain.signature.recordKeys } })));
    const reads = await Promise.all(records.body.urls.map(async (u: Json) => (await fetch(u.url as string)).status));
    expect({ status: records.status, reads }).toEqual({ status: 200, reads: [200, 200] });
    expect(records.body.urls.map((u: Json) => new URL(u.url as string).pathname.split("/")[1])).toEqual([BUCKETS.records, BUCKETS.records]);
  },
  "export-user": async (invoke) => {
    // The admin's processed logo: listed with the read-only token, signed as signed-urls signs it.
    const { reply } = await invoke({ orgId: ORG, userId: ADMIN });
    expect(reply).toEqual({
      uploads: [expect.objectContaining({ key: chain.logo.key, ownerType: "organization_logo", status: "ready", copy: "original", width: 64, height: 48 })],
      cursor: null,
    });
  },
  publish: async (invoke) => {
    const { reply } = await invoke({ orgId: ORG, key: chain.logo.key });
    expect(reply).toMatchObject({ url: expect.stringMatching(/^https:\/\/media\.fitkit\.test\//), width: 64, height: 48 });
  },
  unpublish: async (invoke) => {
    const { reply } = await invoke({ orgId: ORG, key: chain.logo.key });
    expect(reply).toEqual({ deleted: expect.any(Number) });
    expect((reply as { deleted: number }).deleted).toBeGreaterThan(0);
  },
  release: async (invoke) => {
    const { reply } = await invoke({ orgId: ORG, keys: [chain.logo.key] });
    // The original and its processed variants (which joined `used` when they were stored).
    expect(reply).toEqual({ released: 1, bytes: expect.any(Number) });
    expect((reply as { bytes: number }).bytes).toBeGreaterThan(logo.length);
  },
  usage: async (invoke) => {
    // The logo was released; the signatures were consumed; the video stays reserved until it is.
    expect((await invoke({ orgId: ORG })).reply).toEqual({
      used: signature.length + signaturePdf.length,
      reserved: chain.video.part.length,
      quota: configSchemas.UploadSettings.parse({}).orgQuotaBytes,
    });
  },
  "set-quota": async (invoke) => {
    expect((await invoke({ orgId: ORG, quotaBytes: 5_000_000 })).reply).toEqual({ orgId: ORG, quota: 5_000_000 });
  },
  sweeper: async (invoke) => {
    // Something to sweep in each bucket: a photo and a signature staged with one-second URLs and no
    // grace (presigned as a stage with those settings would), never uploaded, overdue a moment later.
    const shortLived = { UploadSettings: configSchemas.UploadSettings.parse({ presignTtlSeconds: 1, stagingGraceSeconds: 0 }) };
    const photo = { ownerType: "progress_photo", files: [{ contentType: "image/png", size: logo.length }] };
    expect(http(await invokeChecked("presign", httpEvent("presign", { token: adminToken, json: photo }), shortLived)).status).toBe(201);
    const { token } = (await invokeChecked("issue-signature-token", { orgId: ORG, formId: "form_links", submissionId: "sub_swept" })).reply as {
      token: string;
    };
    const direct = httpEvent("public-signature-upload-request", { params: { token }, json: { contentType: "application/pdf", size: signaturePdf.length } });
    expect(http(await invokeChecked("public-signature-upload-request", direct, shortLived)).status).toBe(201);
    await sleep(2000);

    const { reply } = await invoke(SCHEDULED_EVENT);
    // Both deleted (an object never uploaded is already gone, which storage confirms) with each bucket's writer.
    expect(reply).toMatchObject({ claimed: 2, deleted: 2, failed: 0, mediaJobsRedriven: 0 });
  },
  "orphan-audit": async (invoke) => {
    const { reply } = await invoke(SCHEDULED_EVENT);
    expect(reply).toMatchObject({ failed: [] });
  },
  "erase-user": async (invoke) => {
    // A photo in flight (its reservation given back) and one linked: deleted with the media writer.
    const photo = { ownerType: "progress_photo", files: [{ contentType: "image/png", size: logo.length }] };
    const staged = http(await invokeChecked("presign", httpEvent("presign", { token: adminToken, json: photo })));
    expect(await putTo(staged.body.uploads[0].url, staged.body.uploads[0].headers, logo)).toBe(200);
    const { reply } = await invoke({ orgId: ORG, userId: ADMIN, idempotencyKey: "links-erase-user" });
    expect(reply).toMatchObject({ status: "complete", receipt: { orgId: ORG, userId: ADMIN, deleted: { progress_photo: { uploads: 1, objects: 1 } } } });
  },
  "erase-org": async (invoke) => {
    // Lists the public bucket (its own token), deletes under incoming/ (the compliance writer) and keeps the two records.
    const { reply } = await invoke({ orgId: ORG, idempotencyKey: "links-erase-org" });
    expect(reply).toMatchObject({ status: "complete", receipt: { orgId: ORG, userId: null, retained: { objects: 2, truncated: false } } });
  },
} satisfies Record<FunctionKey, Step>;

describe("each deployed function, in a process of its own with only its links", () => {
  it("has a step for every function of the table", () => {
    expect(Object.keys(STEPS).sort()).toEqual([...FUNCTION_KEYS].sort());
  });

  for (const [key, step] of Object.entries(STEPS) as [FunctionKey, Step][]) {
    it(`${key} (${FUNCTIONS[key].links.join(", ") || "no links"}) answers its documented success`, async () => {
      await step((event) => invokeChecked(key, event));
      // A few cold processes per step (the sweeper's: four and a wait); generous for a loaded machine.
    }, 90_000);
  }
});
