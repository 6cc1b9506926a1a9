/**
 * The upload client (client/) sending large videos in parts, in Node, against the local stack as
 * `npm start` runs it: real presign (the server chooses multipart above its threshold), part URLs
 * signed in batches, parts PUT to the SigV4-checking S3 server (which refuses a part of another
 * length and an expired URL), complete, consume, then the assembled object read straight from
 * storage (a video's uploaded bytes are never signed for download: docs/API.md, "Video variants").
 * Faults are injected with a `fetch` wrapper; nothing on the server side is mocked.
 */
import { createHash, randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createUploader, UploadClientError, type UploaderOptions, type UploadProgress } from "../client/index.js";
import type { ResumeStorage } from "../client/resume-store.js";
import { type LocalStack, startLocalStack } from "../support/local-stack.js";
import { mp4Bytes } from "../support/media.js";
import { sleep, uniqueId } from "./support/fixtures.js";
import { readStoredObject } from "./support/stored-objects.js";

const MiB = 1024 * 1024;
const PART = 5 * MiB;
let stack: LocalStack;
/** Part URLs that live 2 s (SigV4 dates have whole seconds: 1–2 s in fact). */
let shortTtl: LocalStack;

const settings = {
  MULTIPART_THRESHOLD_BYTES: String(6 * MiB),
  MULTIPART_PART_BYTES: String(PART),
  ORG_QUOTA_BYTES: String(2048 * MiB),
  USER_IN_FLIGHT_BYTES: String(1024 * MiB),
};

beforeAll(async () => {
  [stack, shortTtl] = await Promise.all([startLocalStack(settings), startLocalStack({ ...settings, PRESIGN_TTL_SECONDS: "2" })]);
}, 90_000);
afterAll(async () => {
  await Promise.all([stack?.close(), shortTtl?.close()]);
});

async function member(on: LocalStack) {
  const userId = uniqueId("user");
  const orgId = uniqueId("org");
  return { userId, orgId, token: await on.token({ userId, orgId, role: "member" }) };
}

/** A real MP4 header (consume sniffs it) then random bytes: a misplaced part changes the digest. */
function video(size: number, name = "clip.mp4"): { bytes: Uint8Array<ArrayBuffer>; file: File } {
  const bytes = new Uint8Array(size);
  bytes.set(randomBytes(size));
  bytes.set(mp4Bytes());
  return { bytes, file: new File([bytes], name, { type: "video/mp4", lastModified: 1_764_000_000_000 }) };
}

const sha256 = (data: Uint8Array) => createHash("sha256").update(data).digest("hex");
const partNumberOf = (url: string) => Number(new URL(url).searchParams.get("partNumber"));

interface Call {
  method: string;
  url: string;
  status?: number;
  body?: unknown;
}

type Meddle = (call: Call, init: RequestInit, forward: () => Promise<Response>) => Promise<Response>;

/** A fetch that records every call (API and storage) and lets a test meddle with part PUTs. */
function recordingFetch(meddle?: Meddle) {
  const calls: Call[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const wrapped: typeof fetch = async (input, init = {}) => {
    const call: Call = { method: init.method ?? "GET", url: String(input), ...(typeof init.body === "string" ? { body: JSON.parse(init.body) } : {}) };
    calls.push(call);
    const isPart = call.method === "PUT";
    if (isPart) maxInFlight = Math.max(maxInFlight, ++inFlight);
    try {
      const forward = () => fetch(input, init);
      const response = isPart && meddle ? await meddle(call, init, forward) : await forward();
      call.status = response.status;
      return response;
    } finally {
      if (isPart) inFlight--;
    }
  };
  const api = (method: string, suffix: RegExp) => calls.filter((c) => c.method === method && !c.url.includes("X-Amz-") && suffix.test(new URL(c.url).pathname));
  return {
    fetch: wrapped,
    calls,
    maxInFlight: () => maxInFlight,
    puts: () => calls.filter((c) => c.method === "PUT"),
    presigns: () => api("POST", /^\/uploads$/),
    signings: () => api("POST", /\/parts$/),
    listings: () => api("GET", /\/parts$/),
    completes: () => api("POST", /\/complete$/),
    deletes: () => api("DELETE", /^\/uploads\/[0-9a-f]{32}$/),
  };
}

/** Reads about half of a streamed part, then fails as a dropped connection does. */
async function dropMidway(init: RequestInit, length: number): Promise<never> {
  const reader = (init.body as ReadableStream<Uint8Array>).getReader();
  for (let read = 0; read < length / 2; ) {
    const { done, value } = await reader.read();
    if (done) break;
    read += value.byteLength;
  }
  await reader.cancel();
  throw new TypeError("fetch failed", { cause: new Error("socket hang up (injected)") });
}

/** Web Storage in memory: what localStorage is to a page, surviving "reloads" (new uploaders). */
class MemoryStorage implements ResumeStorage {
  readonly items = new Map<string, string>();
  getItem = (key: string) => this.items.get(key) ?? null;
  setItem = (key: string, value: string) => void this.items.set(key, value);
  removeItem = (key: string) => void this.items.delete(key);
}

const fastRetry: UploaderOptions["retry"] = { retries: 3, minDelayMs: 10, maxDelayMs: 50 };

function expectMonotonic(events: UploadProgress[], size: number) {
  for (let i = 1; i < events.length; i++) {
    expect(events[i]!.loaded).toBeGreaterThanOrEqual(events[i - 1]!.loaded);
    expect(events[i]!.percent).toBeGreaterThanOrEqual(events[i - 1]!.percent);
  }
  expect(Math.max(...events.slice(0, -1).map((e) => e.loaded))).toBeLessThan(size);
  expect(events.filter((e) => e.percent === 100)).toHaveLength(1);
  expect(events.at(-1)).toMatchObject({ loaded: size, total: size, percent: 100 });
}

async function consumeAndRead(on: LocalStack, who: { orgId: string; userId: string; token: string }, uploadId: string): Promise<Uint8Array> {
  const consumed = await on.internal("consume", {
    uploadIds: [uploadId],
    ownerType: "exercise_comment",
    owner: { orgId: who.orgId, userId: who.userId },
    idempotencyKey: uniqueId("link"),
  });
  expect(consumed.status).toBe(200);
  expect(consumed.body.uploads).toEqual([
    expect.objectContaining({ uploadId, key: expect.stringContaining(`${who.orgId}/exercise_comment/${who.userId}/${uploadId}`) }),
  ]);
  // The uploaded bytes as storage holds them: signed-urls serves only the processed copies of a video.
  const stored = await readStoredObject(on, consumed.body.uploads[0].key);
  expect(stored).not.toBeNull();
  return stored!;
}

const usage = async (on: LocalStack, orgId: string) => (await on.internal("usage", { orgId })).body;

describe("createUploader().upload of a file over the multipart threshold", () => {
  it("a 70 MiB video goes in parts, four at a time, signed in batches, and is stored byte-identical", async () => {
    const who = await member(stack);
    const { bytes, file } = video(70 * MiB);
    const recorder = recordingFetch();
    const storage = new MemoryStorage();
    const uploader = createUploader({ apiBaseUrl: stack.api, getToken: () => who.token, fetch: recorder.fetch, partsPerSigning: 5, resumeStorage: storage });
    const events: UploadProgress[] = [];

    const [uploaded] = await uploader.upload(file, { ownerType: "exercise_comment", onProgress: (p) => events.push(p) });

    expect(uploaded).toEqual({
      uploadId: expect.stringMatching(/^[0-9a-f]{32}$/),
      key: `${who.orgId}/exercise_comment/${who.userId}/${uploaded!.uploadId}.mp4`,
      contentType: "video/mp4",
      size: bytes.length,
      fileName: "clip.mp4",
    });
    // 14 parts: one presign (without the old `multipart: false`), 3 signing requests of ≤ 5 parts, one complete.
    expect(recorder.presigns().map((c) => c.body)).toEqual([
      { ownerType: "exercise_comment", files: [{ contentType: "video/mp4", size: bytes.length, fileName: "clip.mp4" }], idempotencyKey: expect.any(String) },
    ]);
    expect(recorder.signings().map((c) => (c.body as { partNumbers: number[] }).partNumbers.length)).toEqual([5, 5, 4]);
    expect(recorder.listings()).toEqual([]);
    expect(recorder.completes()).toHaveLength(1);
    expect(
      recorder
        .puts()
        .map((c) => partNumberOf(c.url))
        .sort((a, b) => a - b),
    ).toEqual(Array.from({ length: 14 }, (_, i) => i + 1));
    expect(recorder.maxInFlight()).toBe(4);
    expectMonotonic(events, bytes.length);
    expect(events.filter((e) => e.percent > 0 && e.percent < 100).length).toBeGreaterThan(20);
    // Remembered while it ran, forgotten once complete.
    expect(storage.items.size).toBe(0);

    expect(sha256(await consumeAndRead(stack, who, uploaded!.uploadId))).toBe(sha256(bytes));
  }, 120_000);

  it("a part whose connection drops mid-way, then answers 503, is retried on its own; progress neither goes back nor counts it twice", async () => {
    const who = await member(stack);
    const { bytes, file } = video(4 * PART + 123);
    let part3Attempts = 0;
    const recorder = recordingFetch(async (call, init, forward) => {
      if (partNumberOf(call.url) !== 3) return forward();
      part3Attempts++;
      if (part3Attempts === 1) return dropMidway(init, PART);
      if (part3Attempts === 2) {
        await (init.body as ReadableStream).cancel();
        return new Response("<Error><Code>SlowDown</Code></Error>", { status: 503 });
      }
      return forward();
    });
    const uploader = createUploader({ apiBaseUrl: stack.api, getToken: () => who.token, fetch: recorder.fetch, retry: fastRetry, resumeStorage: null });
    const events: UploadProgress[] = [];

    const [uploaded] = await uploader.upload(file, { ownerType: "exercise_comment", onProgress: (p) => events.push(p) });

    const parts = recorder.puts().map((c) => partNumberOf(c.url));
    expect(parts.filter((n) => n === 3)).toHaveLength(3);
    expect(parts.filter((n) => n !== 3).sort()).toEqual([1, 2, 4, 5]);
    expect(events.some((e) => e.files[0]!.state === "retrying" && e.files[0]!.attempt === 2)).toBe(true);
    expectMonotonic(events, bytes.length);
    expect(sha256(await consumeAndRead(stack, who, uploaded!.uploadId))).toBe(sha256(bytes));
  }, 60_000);

  it("a part that keeps failing ends the upload with NETWORK_ERROR naming the upload, which stays staged to resume", async () => {
    const who = await member(stack);
    const { file } = video(3 * PART);
    const recorder = recordingFetch(async (call, init, forward) => (partNumberOf(call.url) === 2 ? dropMidway(init, PART) : forward()));
    const uploader = createUploader({ apiBaseUrl: stack.api, getToken: () => who.token, fetch: recorder.fetch, retry: fastRetry, resumeStorage: null });

    const error = await uploader.upload(file, { ownerType: "exercise_comment" }).catch((e: unknown) => e as UploadClientError);

    expect(error).toBeInstanceOf(UploadClientError);
    expect(error).toMatchObject({ code: "NETWORK_ERROR", details: [{ index: 0, uploadId: expect.stringMatching(/^[0-9a-f]{32}$/) }] });
    expect(recorder.puts().filter((c) => partNumberOf(c.url) === 2)).toHaveLength(1 + 3);
    expect(recorder.deletes()).toEqual([]);
    expect(await usage(stack, who.orgId)).toMatchObject({ reserved: file.size });
  }, 60_000);

  it("abort stops every part, cancels the upload (DELETE) and the reservation comes back at once", async () => {
    const who = await member(stack);
    const { file } = video(6 * PART);
    const recorder = recordingFetch();
    const storage = new MemoryStorage();
    const uploader = createUploader({ apiBaseUrl: stack.api, getToken: () => who.token, fetch: recorder.fetch, resumeStorage: storage });
    const controller = new AbortController();
    let remembered = 0;

    const error = await uploader
      .upload(file, {
        ownerType: "exercise_comment",
        signal: controller.signal,
        onProgress: (p) => {
          remembered = Math.max(remembered, storage.items.size);
          if (p.loaded > 2 * PART) controller.abort();
        },
      })
      .catch((e: unknown) => e as UploadClientError);

    expect(error).toMatchObject({ code: "ABORTED" });
    const [cancel] = recorder.deletes();
    expect(cancel).toMatchObject({ status: 204 });
    expect(recorder.puts().length).toBeLessThan(6);
    expect(await usage(stack, who.orgId)).toMatchObject({ used: 0, reserved: 0 });
    const uploadId = new URL(cancel!.url).pathname.split("/").pop()!;
    const consumed = await stack.internal("consume", {
      uploadIds: [uploadId],
      ownerType: "exercise_comment",
      owner: { orgId: who.orgId, userId: who.userId },
      idempotencyKey: uniqueId("link"),
    });
    expect(consumed.status).toBe(404);
    // It was remembered while it ran; a cancelled upload is not offered for resume.
    expect(remembered).toBe(1);
    expect(storage.items.size).toBe(0);
  }, 60_000);
});

describe("resuming a multipart upload", () => {
  /** Sends the first `stored` parts of `file`, then loses the network for good: the "crash". */
  async function crashAfter(who: { token: string }, file: File, stored: number, storage: ResumeStorage | null) {
    let sent = 0;
    const recorder = recordingFetch(async (_call, init, forward) => (++sent <= stored ? forward() : dropMidway(init, PART)));
    const uploader = createUploader({
      apiBaseUrl: stack.api,
      getToken: () => who.token,
      fetch: recorder.fetch,
      retry: { retries: 0 },
      partConcurrency: 1,
      resumeStorage: storage,
    });
    const error = await uploader.upload(file, { ownerType: "exercise_comment" }).then(
      () => expect.fail("the upload should have failed"),
      (e: unknown) => e as UploadClientError,
    );
    expect(error).toMatchObject({ code: "NETWORK_ERROR" });
    return (error.details as { uploadId?: string }[]).find((d) => d.uploadId)!.uploadId!;
  }

  it("upload() of the same file after a reload resumes it: only the missing parts are sent, then it completes", async () => {
    const who = await member(stack);
    const { bytes, file } = video(6 * PART + 1000);
    const storage = new MemoryStorage();
    const uploadId = await crashAfter(who, file, 3, storage);
    expect(storage.items.size).toBe(1);

    // "After the reload": a new uploader, the same storage, the same file picked again.
    const recorder = recordingFetch();
    const uploader = createUploader({ apiBaseUrl: stack.api, getToken: () => who.token, fetch: recorder.fetch, resumeStorage: storage });
    const events: UploadProgress[] = [];
    const [uploaded] = await uploader.upload(new File([bytes], file.name, { type: file.type, lastModified: file.lastModified }), {
      ownerType: "exercise_comment",
      onProgress: (p) => events.push(p),
    });

    expect(uploaded!.uploadId).toBe(uploadId);
    expect(recorder.presigns()).toEqual([]);
    expect(recorder.listings()).toHaveLength(1);
    expect(
      recorder
        .puts()
        .map((c) => partNumberOf(c.url))
        .sort(),
    ).toEqual([4, 5, 6, 7]);
    // The stored parts count from the start (3 of 7 parts' bytes), then the rest.
    expect(events.find((e) => e.loaded > 0)!.loaded).toBe(3 * PART);
    expectMonotonic(events, bytes.length);
    expect(storage.items.size).toBe(0);
    expect(sha256(await consumeAndRead(stack, who, uploadId))).toBe(sha256(bytes));
  }, 60_000);

  it("uploader.resume(uploadId, file) without anything remembered learns the plan from the server and sends only what is missing", async () => {
    const who = await member(stack);
    const { bytes, file } = video(4 * PART + 7);
    const uploadId = await crashAfter(who, file, 2, null);

    const recorder = recordingFetch();
    const uploader = createUploader({ apiBaseUrl: stack.api, getToken: () => who.token, fetch: recorder.fetch, resumeStorage: null });
    const resumed = await uploader.resume(uploadId, file);

    expect(resumed).toMatchObject({ uploadId, contentType: "video/mp4", size: bytes.length, fileName: "clip.mp4" });
    expect(
      recorder
        .puts()
        .map((c) => partNumberOf(c.url))
        .sort(),
    ).toEqual([3, 4, 5]);
    expect(sha256(await consumeAndRead(stack, who, uploadId))).toBe(sha256(bytes));
  }, 60_000);

  it("a remembered upload the server no longer has (cancelled, swept) is dropped and the file uploaded afresh", async () => {
    const who = await member(stack);
    const { bytes, file } = video(2 * PART);
    const storage = new MemoryStorage();
    const stale = await crashAfter(who, file, 1, storage);
    const cancelled = await fetch(`${stack.api}/uploads/${stale}`, { method: "DELETE", headers: { authorization: `Bearer ${who.token}` } });
    expect(cancelled.status).toBe(204);

    const recorder = recordingFetch();
    const uploader = createUploader({ apiBaseUrl: stack.api, getToken: () => who.token, fetch: recorder.fetch, resumeStorage: storage });
    const [uploaded] = await uploader.upload(file, { ownerType: "exercise_comment" });

    expect(recorder.listings().map((c) => c.status)).toEqual([404]);
    expect(recorder.presigns()).toHaveLength(1);
    expect(uploaded!.uploadId).not.toBe(stale);
    expect(recorder.puts()).toHaveLength(2);
    expect(storage.items.size).toBe(0);
    expect(sha256(await consumeAndRead(stack, who, uploaded!.uploadId))).toBe(sha256(bytes));
  }, 60_000);
});

describe("expired part URLs", () => {
  it("a part sent after its URL expired (storage's 403 'Request has expired') gets a new URL and is stored", async () => {
    const who = await member(shortTtl);
    const { bytes, file } = video(2 * PART + 99);
    let delayed = false;
    const recorder = recordingFetch(async (call, _init, forward) => {
      if (partNumberOf(call.url) === 2 && !delayed) {
        delayed = true;
        await sleep(3_100); // past the URL's 1–2 s life
      }
      return forward();
    });
    const uploader = createUploader({ apiBaseUrl: shortTtl.api, getToken: () => who.token, fetch: recorder.fetch, partConcurrency: 1, resumeStorage: null });

    const [uploaded] = await uploader.upload(file, { ownerType: "exercise_comment" });

    const part2 = recorder.puts().filter((c) => partNumberOf(c.url) === 2);
    expect(part2.map((c) => c.status)).toEqual([403, 200]);
    expect(part2[0]!.url).not.toBe(part2[1]!.url);
    // Part 3's URL expired while it waited its turn: signed again with part 2's, before it was sent.
    expect(
      recorder
        .puts()
        .filter((c) => partNumberOf(c.url) === 3)
        .map((c) => c.status),
    ).toEqual([200]);
    expect(recorder.signings().map((c) => (c.body as { partNumbers: number[] }).partNumbers)).toEqual([
      [1, 2, 3],
      [2, 3],
    ]);
    expect(sha256(await consumeAndRead(shortTtl, who, uploaded!.uploadId))).toBe(sha256(bytes));
  }, 60_000);
});
