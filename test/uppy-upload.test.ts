/**
 * Uppy through the FitKit adapter (client/uppy.ts) in real Chromium against the local stack as
 * `npm start` runs it: `@uppy/core` + `@uppy/aws-s3` send a small video in one PUT and a 70 MiB
 * video in parts straight to the SigV4-checking S3 server, and `@uppy/golden-retriever` resumes
 * the parts upload after a page reload. The app's origin serves the page (bundled here with
 * esbuild) and forwards API paths to the stack, counting the API calls; the adapter's upload ids
 * are then linked (consume) and the stored bytes read straight from storage (a video's uploaded
 * bytes are never signed for download: docs/API.md, "Video variants").
 *
 * Needs `apt-get install chromium`; without it this file fails (it never skips).
 */
import { createHash, randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { build } from "esbuild";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LocalStack, startLocalStack } from "../support/local-stack.js";
import { mp4Bytes } from "../support/media.js";
import { closeChromium, launchChromium } from "./support/browser.js";
import { uniqueId } from "./support/fixtures.js";
import { storedObjectSha256 } from "./support/stored-objects.js";

const MiB = 1024 * 1024;
const PAGE = '<!doctype html><title>Uppy</title><input id="files" type="file"><script src="/uppy/app.js"></script>';

let launched: Promise<Browser>;
let stack: LocalStack;
let app: { origin: string; server: Server };
let scripts: { app: string; serviceWorker: string };
let dir: string;
/** Every API call the page made through the app's origin, as "METHOD /path". */
let apiCalls: string[] = [];
/** The part numbers of every `POST /uploads/{uploadId}/parts`, in order. */
let signings: number[][] = [];
/** The API's presign answers, as the page received them. */
let presigned: { uploads: { uploadId: string; mode: string; url?: string; headers?: Record<string, string> }[] }[] = [];

/** The app's origin: the page, its script, Golden Retriever's service worker, and the API forwarded to the stack. */
async function startAppOrigin(): Promise<{ origin: string; server: Server }> {
  const server = createServer(async (req, res) => {
    const js = { "content-type": "text/javascript; charset=utf-8" };
    if (req.url === "/uppy/") return void res.writeHead(200, { "content-type": "text/html; charset=utf-8" }).end(PAGE);
    if (req.url === "/uppy/app.js") return void res.writeHead(200, js).end(scripts.app);
    if (req.url === "/uppy/sw.js") return void res.writeHead(200, js).end(scripts.serviceWorker);
    if (req.url === "/favicon.ico") return void res.writeHead(404).end();
    apiCalls.push(`${req.method} ${req.url}`);
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    if (req.method === "POST" && /^\/uploads\/[0-9a-f]{32}\/parts$/.test(req.url ?? ""))
      signings.push(JSON.parse(Buffer.concat(chunks).toString()).partNumbers);
    const headers = Object.fromEntries(["authorization", "content-type"].flatMap((name) => (req.headers[name] ? [[name, String(req.headers[name])]] : [])));
    const answer = await fetch(`${stack.api}${req.url}`, { method: req.method, headers, ...(chunks.length > 0 ? { body: Buffer.concat(chunks) } : {}) });
    const forwarded = Object.fromEntries(
      ["content-type", "date", "retry-after"].flatMap((name) => (answer.headers.get(name) ? [[name, answer.headers.get(name)!]] : [])),
    );
    const body = Buffer.from(await answer.arrayBuffer());
    if (req.method === "POST" && req.url === "/uploads" && answer.status === 201) presigned.push(JSON.parse(body.toString()));
    res.writeHead(answer.status, forwarded).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

const bundle = (entry: string) =>
  build({ entryPoints: [entry], bundle: true, write: false, format: "iife", platform: "browser", logLevel: "silent" }).then(
    (result) => result.outputFiles[0]!.text,
  );

beforeAll(async () => {
  launched = launchChromium();
  launched.catch(() => undefined); // reported by each test that needs it
  dir = await mkdtemp(join(tmpdir(), "fitkit-uppy-"));
  app = await startAppOrigin();
  const [appScript, serviceWorker] = await Promise.all([
    bundle("test/support/uppy-page.ts"),
    bundle("node_modules/@uppy/golden-retriever/lib/ServiceWorker.js"),
  ]);
  scripts = { app: appScript, serviceWorker };
  stack = await startLocalStack({ APP_ORIGINS: app.origin });
}, 120_000);
afterAll(async () => {
  await Promise.all([
    closeChromium(launched),
    stack?.close(),
    new Promise<void>((resolve) => {
      app?.server.closeAllConnections();
      app ? app.server.close(() => resolve()) : resolve();
    }),
  ]);
  if (dir) await rm(dir, { recursive: true, force: true });
});

interface PageState {
  status: string;
  uploaded: { uploadId: string; key: string; contentType: string; size: number; fileName?: string }[];
  bodies: unknown[];
  partsUploaded: number[];
  errors: string[];
  restored: { name: string; size: number | null; isGhost: boolean; hasData: boolean; uploadId?: string }[] | null;
}

/** A video storage sniffs as MP4: a real `ftyp` header, then random bytes (so misplaced parts change the digest). */
async function videoFile(name: string, size: number): Promise<{ path: string; sha256: string }> {
  const bytes = Buffer.concat([mp4Bytes(), randomBytes(size - mp4Bytes().length)]);
  const path = join(dir, name);
  await writeFile(path, bytes);
  return { path, sha256: createHash("sha256").update(bytes).digest("hex") };
}

interface StoragePut {
  partNumber: number | null;
  headers: Record<string, string>;
  phase: string;
}

/** A fresh browser profile on the app's page, signed in as `who`; records every PUT to storage. */
async function openPage(who: { userId: string; orgId: string }, goldenRetriever = false, partsPerSigning?: number) {
  const token = await stack.token({ ...who, role: "member" });
  const context: BrowserContext = await (await launched).newContext();
  const page = await context.newPage();
  const pageErrors: string[] = [];
  page.on("pageerror", (error) => pageErrors.push(String(error)));
  const puts: StoragePut[] = [];
  const recorder = { phase: "first" };
  page.on("request", (request) => {
    if (request.method() !== "PUT" || !request.url().startsWith(stack.s3)) return;
    const partNumber = new URL(request.url()).searchParams.get("partNumber");
    puts.push({ partNumber: partNumber === null ? null : Number(partNumber), headers: request.headers(), phase: recorder.phase });
  });
  await page.addInitScript(
    (config) => {
      window.uppyPageConfig = config;
    },
    { apiBaseUrl: app.origin, token, ownerType: "exercise_comment" as const, goldenRetriever, ...(partsPerSigning ? { partsPerSigning } : {}) },
  );
  await page.goto(`${app.origin}/uppy/`);
  await page.waitForSelector("body[data-ready=true]");
  return { page, context, pageErrors, puts, recorder, token };
}

const pageState = (page: Page) => page.evaluate(() => window.uppyPage as PageState);
const settled = (page: Page, timeout = 90_000) => page.waitForFunction(() => ["done", "error"].includes(window.uppyPage.status), undefined, { timeout });

/**
 * Links the upload as the service does, then hashes the object storage holds for it (read straight
 * from storage: signed-urls serves only a video's processed copies, never the uploaded bytes).
 */
async function linkAndReadBack(who: { userId: string; orgId: string }, uploadId: string) {
  const linked = await stack.internal("consume", {
    uploadIds: [uploadId],
    ownerType: "exercise_comment",
    owner: who,
    idempotencyKey: uniqueId("consume"),
  });
  const key: string | undefined = linked.body.uploads?.[0]?.key;
  return { linked, sha256: key ? await storedObjectSha256(stack, key) : null };
}

const member = () => ({ userId: uniqueId("user"), orgId: uniqueId("org") });
const apiCallsOf = (uploadId: string) => apiCalls.filter((call) => call.includes(uploadId)).map((call) => call.replace(uploadId, "{uploadId}"));

describe("Uppy with @uppy/aws-s3 through the FitKit adapter, in chromium", () => {
  it("sends a small video in one PUT with exactly the signed headers; the upload id links and the bytes are identical", async () => {
    const who = member();
    const video = await videoFile("clip.mp4", 2 * MiB);
    const { page, context, pageErrors, puts } = await openPage(who);
    apiCalls = [];
    signings = [];
    presigned = [];

    await page.setInputFiles("#files", video.path);
    await settled(page);

    const state = await pageState(page);
    expect(state).toMatchObject({ status: "done", errors: [] });
    const [uploaded] = state.uploaded;
    expect(state.uploaded).toEqual([
      {
        uploadId: expect.stringMatching(/^[0-9a-f]{32}$/),
        key: expect.stringContaining(`${who.orgId}/exercise_comment/${who.userId}/`),
        contentType: "video/mp4",
        size: 2 * MiB,
        fileName: "clip.mp4",
      },
    ]);
    // One presign, no other API call; one PUT carrying the signed headers (the browser sets content-length).
    expect(apiCalls).toEqual(["POST /uploads"]);
    expect(puts).toHaveLength(1);
    const [single] = presigned[0]!.uploads;
    expect(single).toMatchObject({ uploadId: uploaded!.uploadId, mode: "single" });
    const { "content-length": length, ...signedHeaders } = single!.headers!;
    expect(length).toBe(String(2 * MiB));
    expect(signedHeaders).toMatchObject({ "content-type": "video/mp4", "if-none-match": "*" });
    expect(puts[0]).toMatchObject({ partNumber: null, headers: signedHeaders });

    const { linked, sha256 } = await linkAndReadBack(who, uploaded!.uploadId);
    expect(linked.status).toBe(200);
    expect(linked.body.uploads).toEqual([
      expect.objectContaining({ uploadId: uploaded!.uploadId, key: uploaded!.key, contentType: "video/mp4", size: 2 * MiB }),
    ]);
    expect(sha256).toBe(video.sha256);
    expect(pageErrors).toEqual([]);
    await context.close();
  }, 60_000);

  it("sends a 70 MiB video in the server's parts (one signing call for all of them); it links and reads back identical", async () => {
    const who = member();
    const video = await videoFile("session.mp4", 70 * MiB);
    const { page, context, pageErrors, puts } = await openPage(who);
    apiCalls = [];
    signings = [];

    await page.setInputFiles("#files", video.path);
    await settled(page);

    const state = await pageState(page);
    expect(state).toMatchObject({ status: "done", errors: [] });
    const [uploaded] = state.uploaded;
    expect(uploaded).toMatchObject({ contentType: "video/mp4", size: 70 * MiB });
    // The server planned 8 MiB parts: 9 of them, each PUT once to its own signed URL.
    expect(puts.map((put) => put.partNumber).sort((a, b) => a! - b!)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect([...state.partsUploaded].sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(apiCalls[0]).toBe("POST /uploads");
    expect(apiCallsOf(uploaded!.uploadId)).toEqual(["POST /uploads/{uploadId}/parts", "POST /uploads/{uploadId}/complete"]);
    // What Uppy's upload-success carries: the complete answer.
    expect(state.bodies).toEqual([{ uploadId: uploaded!.uploadId, key: uploaded!.key, size: 70 * MiB }]);

    const { linked, sha256 } = await linkAndReadBack(who, uploaded!.uploadId);
    expect(linked.status).toBe(200);
    expect(linked.body.uploads).toEqual([expect.objectContaining({ uploadId: uploaded!.uploadId, contentType: "video/mp4", size: 70 * MiB })]);
    expect(sha256).toBe(video.sha256);
    expect(pageErrors).toEqual([]);
    await context.close();
  }, 120_000);

  it("cancelling a parts upload calls DELETE: the staged upload and its reservation are gone, nothing can be linked", async () => {
    const who = member();
    const video = await videoFile("cancelled.mp4", 70 * MiB);
    const { page, context, pageErrors } = await openPage(who);
    const cdp = await context.newCDPSession(page);
    await cdp.send("Network.enable");
    await cdp.send("Network.emulateNetworkConditions", { offline: false, latency: 5, downloadThroughput: -1, uploadThroughput: 8 * MiB });
    apiCalls = [];
    signings = [];
    presigned = [];

    await page.setInputFiles("#files", video.path);
    await page.waitForFunction(() => window.uppyPage.partsUploaded.length >= 1, undefined, { timeout: 60_000 });
    const uploadId = presigned[0]!.uploads[0]!.uploadId;
    const usage = () => stack.internal("usage", { orgId: who.orgId });
    expect((await usage()).body).toMatchObject({ reserved: 70 * MiB });
    await page.evaluate(() => window.cancelAll());

    await expect.poll(() => apiCalls).toContain(`DELETE /uploads/${uploadId}`);
    await expect.poll(async () => (await usage()).body).toMatchObject({ reserved: 0 });
    const consumed = await stack.internal("consume", { uploadIds: [uploadId], ownerType: "exercise_comment", owner: who, idempotencyKey: uniqueId("consume") });
    expect(consumed.status).toBe(404);
    expect(pageErrors).toEqual([]);
    await context.close();
  }, 90_000);

  it("Golden Retriever resumes after a reload mid-upload: the parts storage already holds are not sent again", async () => {
    const who = member();
    const video = await videoFile("resume.mp4", 70 * MiB);
    // Four part URLs per signing call: 9 parts take several calls.
    const { page, context, pageErrors, puts, recorder, token } = await openPage(who, true, 4);
    // A slow uplink, so the reload comes while parts are still being sent.
    const cdp = await context.newCDPSession(page);
    await cdp.send("Network.enable");
    await cdp.send("Network.emulateNetworkConditions", { offline: false, latency: 5, downloadThroughput: -1, uploadThroughput: 12 * MiB });
    apiCalls = [];
    signings = [];

    await page.setInputFiles("#files", video.path);
    await page.waitForFunction(() => window.uppyPage.partsUploaded.length >= 3, undefined, { timeout: 60_000 });
    const before = await pageState(page);
    expect(signings[0]).toEqual([1, 2, 3, 4]);
    await page.reload();
    // Marked once the new page has loaded: a PUT the old page began as it unloaded is its own (and
    // aborted), not a part sent again; the new page sends nothing before confirmRestore below.
    recorder.phase = "after reload";
    await page.waitForFunction(() => window.uppyPage.restored !== null, undefined, { timeout: 30_000 });

    // The file came back with its bytes and its upload; storage holds the parts sent before the reload.
    const { restored } = await pageState(page);
    const uploadId = restored![0]!.uploadId!;
    expect(restored).toEqual([{ name: "resume.mp4", size: 70 * MiB, isGhost: false, hasData: true, uploadId }]);
    const listed = await fetch(`${stack.api}/uploads/${uploadId}/parts`, { headers: { authorization: `Bearer ${token}` } }).then(
      (res) => res.json() as Promise<{ parts: { partNumber: number; size: number }[] }>,
    );
    const stored = listed.parts.map((part) => part.partNumber);
    expect(stored.length).toBeGreaterThanOrEqual(before.partsUploaded.length);
    expect(stored.length).toBeLessThan(9);

    const signedBefore = signings.length;
    await page.evaluate(() => window.confirmRestore());
    await settled(page);

    const state = await pageState(page);
    expect(state).toMatchObject({ status: "done", errors: [] });
    const resent = puts.filter((put) => put.phase === "after reload").map((put) => put.partNumber!);
    const missing = [1, 2, 3, 4, 5, 6, 7, 8, 9].filter((n) => !stored.includes(n));
    // Only the missing parts were sent after the reload, each once.
    expect([...resent].sort((a, b) => a - b)).toEqual(missing);
    expect(apiCalls).toContain(`GET /uploads/${uploadId}/parts`);
    // Only missing parts were signed after the reload (a part retried by Uppy may be signed twice), at most four a call.
    const signedAfter = signings.slice(signedBefore);
    expect([...new Set(signedAfter.flat())].sort((a, b) => a - b)).toEqual(missing);
    expect(signedAfter.every((numbers) => numbers.length <= 4)).toBe(true);
    expect(state.uploaded).toEqual([expect.objectContaining({ uploadId, size: 70 * MiB })]);

    const { linked, sha256 } = await linkAndReadBack(who, uploadId);
    expect(linked.status).toBe(200);
    expect(sha256).toBe(video.sha256);
    expect(pageErrors).toEqual([]);
    await context.close();
  }, 150_000);
});
