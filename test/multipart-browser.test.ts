/**
 * A 70 MiB video through the demo page's ordinary upload form in real Chromium (Debian's chromium
 * via playwright-core): the server answers a multipart upload and the page's client sends it in
 * parts straight to the SigV4-checking S3 server. The network is cut mid-way and restored, and the
 * page is reloaded mid-upload; the upload finishes either way with the same bytes, and a resume
 * sends only the parts storage does not already hold (every PUT to storage is counted).
 *
 * Needs `apt-get install chromium`; without it this file fails (it never skips).
 */
import { createHash, randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LocalStack, startLocalStack } from "../support/local-stack.js";
import { mp4Bytes } from "../support/media.js";
import { closeChromium, launchChromium } from "./support/browser.js";
import { sleep, uniqueId } from "./support/fixtures.js";
import { storedObjectSha256 } from "./support/stored-objects.js";

const MiB = 1024 * 1024;
const PART = 5 * MiB;
const SIZE = 70 * MiB;
const PARTS = Math.ceil(SIZE / PART);

let launched: Promise<Browser>;
let stack: LocalStack;
let dir: string;
let videoPath: string;
let videoSha256: string;

beforeAll(async () => {
  launched = launchChromium();
  launched.catch(() => undefined); // reported by each test that needs it
  dir = await mkdtemp(join(tmpdir(), "fitkit-multipart-browser-"));
  // A real MP4 header (consume sniffs it) then random bytes: 70 MiB, over the default 64 MiB threshold.
  const bytes = randomBytes(SIZE);
  mp4Bytes().copy(bytes);
  videoPath = join(dir, "squat-form.mp4");
  await writeFile(videoPath, bytes);
  videoSha256 = createHash("sha256").update(bytes).digest("hex");
  stack = await startLocalStack({
    MULTIPART_PART_BYTES: String(PART),
    ORG_QUOTA_BYTES: String(1024 * MiB),
    USER_IN_FLIGHT_BYTES: String(1024 * MiB),
  });
}, 90_000);
afterAll(async () => {
  await Promise.all([closeChromium(launched), stack?.close()]);
  if (dir) await rm(dir, { recursive: true, force: true });
});

interface PartPut {
  partNumber: number;
  status?: number;
  failure?: string;
}

/** Every part PUT the page sends to storage (with its answer or its failure), and the API calls that matter here. */
function watch(page: Page) {
  const puts: PartPut[] = [];
  const byRequest = new Map<unknown, PartPut>();
  const presigned: { uploadId: string; mode: string }[] = [];
  const listed: number[][] = [];
  page.on("request", (request) => {
    const url = new URL(request.url());
    if (request.method() !== "PUT" || !url.searchParams.has("partNumber")) return;
    const put = { partNumber: Number(url.searchParams.get("partNumber")) };
    puts.push(put);
    byRequest.set(request, put);
  });
  page.on("response", async (response) => {
    const put = byRequest.get(response.request());
    if (put) put.status = response.status();
    const url = new URL(response.url());
    const method = response.request().method();
    if (url.origin !== stack.api) return;
    if (method === "POST" && url.pathname === "/uploads" && response.status() === 201) presigned.push(...(await response.json()).uploads);
    if (method === "GET" && /^\/uploads\/[0-9a-f]{32}\/parts$/.test(url.pathname) && response.ok())
      listed.push(((await response.json()).parts as { partNumber: number }[]).map((p) => p.partNumber));
  });
  page.on("requestfailed", (request) => {
    const put = byRequest.get(request);
    if (put) put.failure = request.failure()?.errorText ?? "failed";
  });
  const stored = () => [...new Set(puts.filter((p) => p.status === 200).map((p) => p.partNumber))].sort((a, b) => a - b);
  return { puts, presigned, listed, stored };
}

async function signIn(page: Page, userId: string, orgId: string): Promise<void> {
  await page.fill("#user-id", userId);
  await page.fill("#org-id", orgId);
  await page.click("#sign-in");
  await page.waitForFunction((id) => (window as any).fitkitDemo.identity?.userId === id, userId);
}

async function startUpload(page: Page): Promise<void> {
  await page.selectOption("#owner-type", "exercise_comment");
  await page.setInputFiles("#files", videoPath);
  await page.click("#upload-button");
}

async function waitForStoredParts(parts: () => number[], count: number): Promise<void> {
  for (const started = Date.now(); parts().length < count; await sleep(50)) {
    if (Date.now() - started > 120_000) throw new Error(`only ${parts().length} parts stored after 120 s`);
  }
}

async function finished(page: Page) {
  await page.waitForFunction(() => ["uploaded", "error"].includes((window as any).fitkitDemo.phase), undefined, { timeout: 240_000 });
  return page.evaluate(() => {
    const demo = (window as any).fitkitDemo;
    return { phase: demo.phase, lastError: demo.lastError, uploaded: demo.uploaded, progress: demo.progress as number[] };
  });
}

/**
 * Links the upload as its owner's backend would, then hashes the object storage holds for it (read
 * straight from storage: signed-urls serves only a video's processed copies, never the uploaded bytes).
 */
async function storedSha256(who: { userId: string; orgId: string }, uploadId: string): Promise<string | null> {
  const consumed = await stack.internal("consume", {
    uploadIds: [uploadId],
    ownerType: "exercise_comment",
    owner: who,
    idempotencyKey: uniqueId("link"),
  });
  expect(consumed.status).toBe(200);
  expect(consumed.body.uploads).toEqual([expect.objectContaining({ uploadId, size: SIZE, contentType: "video/mp4" })]);
  return storedObjectSha256(stack, consumed.body.uploads[0].key);
}

async function newPage(): Promise<{ context: BrowserContext; page: Page; errors: string[] }> {
  const context = await (await launched).newContext({ viewport: { width: 1100, height: 900 } });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on("pageerror", (error) => errors.push(String(error)));
  await page.goto(`${stack.api}/`);
  return { context, page, errors };
}

describe("a 70 MiB video through the demo page", () => {
  it("goes in parts; cut off the network mid-way and restored, it finishes with identical bytes", async () => {
    const { context, page, errors } = await newPage();
    const seen = watch(page);
    const who = { userId: uniqueId("user"), orgId: uniqueId("org") };
    await signIn(page, who.userId, who.orgId);

    await startUpload(page);
    await waitForStoredParts(seen.stored, 3);
    await context.setOffline(true);
    await sleep(3_000);
    const duringOutage = seen.puts.filter((p) => p.failure).length;
    await context.setOffline(false);
    const result = await finished(page);

    expect(result.lastError).toBeNull();
    expect(result.phase).toBe("uploaded");
    expect(seen.presigned).toEqual([expect.objectContaining({ mode: "multipart" })]);
    expect(result.uploaded).toEqual([
      expect.objectContaining({ uploadId: seen.presigned[0]!.uploadId, size: SIZE, contentType: "video/mp4", fileName: "squat-form.mp4" }),
    ]);
    // The outage hit parts in flight (the page saw the browser go offline and back); they, and only
    // a few more, were sent again.
    expect(duringOutage).toBeGreaterThan(0);
    const log = await page.locator("#log").textContent();
    expect(log).toContain("Offline: the upload waits for the network.");
    expect(log).toContain("Back online: the upload goes on.");
    expect(seen.stored()).toEqual(Array.from({ length: PARTS }, (_, i) => i + 1));
    expect(seen.puts.length).toBeLessThanOrEqual(PARTS + 2 * 4);
    // Progress shown all along: monotonic, ending at 100 once stored.
    expect(result.progress.length).toBeGreaterThan(PARTS);
    expect([...result.progress].sort((a, b) => a - b)).toEqual(result.progress);
    expect(result.progress.at(-1)).toBe(100);
    expect(await page.getAttribute("#total", "data-percent")).toBe("100");

    expect(await storedSha256(who, seen.presigned[0]!.uploadId)).toBe(videoSha256);
    expect(errors).toEqual([]);
    await context.close();
  }, 300_000);

  it("reloaded mid-upload, the same file picked again resumes it without sending the stored parts again", async () => {
    const { context, page, errors } = await newPage();
    const seen = watch(page);
    const who = { userId: uniqueId("user"), orgId: uniqueId("org") };
    await signIn(page, who.userId, who.orgId);

    await startUpload(page);
    await waitForStoredParts(seen.stored, 4);
    await page.reload();
    // Counted once the old page is gone: nothing it sent can answer any more.
    const storedBeforeReload = seen.stored();
    const putsBeforeReload = seen.puts.length;
    await signIn(page, who.userId, who.orgId);
    await startUpload(page);
    const result = await finished(page);

    expect(result.lastError).toBeNull();
    expect(result.phase).toBe("uploaded");
    // No second presign: the page remembered the upload and asked storage what it holds.
    expect(seen.presigned).toHaveLength(1);
    const uploadId = seen.presigned[0]!.uploadId;
    expect(result.uploaded[0].uploadId).toBe(uploadId);
    expect(seen.listed).toHaveLength(1);
    const listed = seen.listed[0]!;
    for (const n of storedBeforeReload) expect(listed).toContain(n);
    // After the reload: exactly the parts storage did not list, each once.
    const after = seen.puts.slice(putsBeforeReload).map((p) => p.partNumber);
    expect([...after].sort((a, b) => a - b)).toEqual(Array.from({ length: PARTS }, (_, i) => i + 1).filter((n) => !listed.includes(n)));
    expect(after.length).toBeLessThanOrEqual(PARTS - storedBeforeReload.length);
    // Forgotten once complete.
    expect(await page.evaluate(() => Object.keys(localStorage).filter((k) => k.startsWith("fitkit-uploads:resume:")))).toEqual([]);

    expect(await storedSha256(who, uploadId)).toBe(videoSha256);
    expect(errors).toEqual([]);
    await context.close();
  }, 300_000);
});
