/**
 * The upload client (client/) in Node against the local stack as `npm start` runs it: real presign,
 * real PUTs to the SigV4-checking S3 server (fetch transport, streamed for progress), real consume.
 * Faults are injected with a `fetch` wrapper; nothing on the server side is mocked.
 */
import { build } from "esbuild";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createUploader, UploadClientError, type UploaderOptions, type UploadProgress } from "../client/index.js";
import { typeForFileName } from "../client/uploader.js";
import { type LocalStack, startLocalStack } from "../support/local-stack.js";
import { pngImage } from "../support/media.js";
import { gradientPng } from "./support/browser.js";
import { sleep, uniqueId } from "./support/fixtures.js";
import { errorBody } from "./support/http.js";

let stack: LocalStack;
/**
 * A stack whose presigned URLs live 2 s, for expiry (SigV4 dates have whole seconds, so a URL
 * really lives 1–2 s: enough for one PUT on loopback).
 */
let shortTtl: LocalStack;
const SHORT_TTL_SECONDS = 2;
const PAST_EXPIRY_MS = SHORT_TTL_SECONDS * 1000 + 1_100;

beforeAll(async () => {
  [stack, shortTtl] = await Promise.all([startLocalStack(), startLocalStack({ PRESIGN_TTL_SECONDS: String(SHORT_TTL_SECONDS) })]);
}, 60_000);
afterAll(async () => {
  await Promise.all([stack?.close(), shortTtl?.close()]);
});

async function member(on: LocalStack, role = "member") {
  const userId = uniqueId("user");
  const orgId = uniqueId("org");
  return { userId, orgId, token: await on.token({ userId, orgId, role }) };
}

interface Call {
  method: string;
  url: string;
  headers: Record<string, string>;
  status?: number;
  text?: string;
}

/** A fetch that records every call (and each answer) and lets a test meddle with PUTs. */
function recordingFetch(meddle?: (call: Call, attempt: number, forward: () => Promise<Response>, init: RequestInit) => Promise<Response>) {
  const calls: Call[] = [];
  let puts = 0;
  const wrapped: typeof fetch = async (input, init = {}) => {
    const call: Call = { method: init.method ?? "GET", url: String(input), headers: headerRecord(init.headers) };
    calls.push(call);
    const forward = () => fetch(input, init);
    const response = call.method === "PUT" && meddle ? await meddle(call, ++puts, forward, init) : await forward();
    call.status = response.status;
    call.text = await response.clone().text();
    return response;
  };
  return {
    fetch: wrapped,
    calls,
    presigns: () => calls.filter((c) => c.method === "POST" && c.url.endsWith("/uploads")),
    puts: () => calls.filter((c) => c.method === "PUT"),
  };
}

function headerRecord(headers: HeadersInit | undefined): Record<string, string> {
  const record: Record<string, string> = {};
  new Headers(headers).forEach((value, name) => {
    record[name] = value;
  });
  return record;
}

const fastRetry: UploaderOptions["retry"] = { retries: 3, minDelayMs: 10, maxDelayMs: 50 };

function consume(on: LocalStack, who: { orgId: string; userId: string }, uploadIds: string[], ownerType = "progress_photo") {
  return on.internal("consume", { uploadIds, ownerType, owner: { orgId: who.orgId, userId: who.userId }, idempotencyKey: uniqueId("link") });
}

describe("createUploader().upload", () => {
  it("presigns the batch, PUTs each file with the signed headers, reports monotonic progress to 100% and resolves { uploadId, key } per file", async () => {
    const who = await member(stack);
    const small = pngImage(3, 2);
    const large = gradientPng(800, 600); // ≈1.4 MB: many streamed chunks
    const recorder = recordingFetch();
    const uploader = createUploader({ apiBaseUrl: stack.api, getToken: () => who.token, fetch: recorder.fetch });
    const events: UploadProgress[] = [];

    const uploaded = await uploader.upload(
      [new File([new Uint8Array(small)], "front.png", { type: "image/png" }), { body: new Uint8Array(large), contentType: "image/png", fileName: "side.png" }],
      { ownerType: "progress_photo", onProgress: (p) => events.push(p) },
    );

    expect(uploaded).toEqual([
      {
        uploadId: expect.stringMatching(/^[0-9a-f]{32}$/),
        key: `${who.orgId}/progress_photo/${who.userId}/${uploaded[0]!.uploadId}.png`,
        contentType: "image/png",
        size: small.length,
        fileName: "front.png",
      },
      {
        uploadId: expect.stringMatching(/^[0-9a-f]{32}$/),
        key: `${who.orgId}/progress_photo/${who.userId}/${uploaded[1]!.uploadId}.png`,
        contentType: "image/png",
        size: large.length,
        fileName: "side.png",
      },
    ]);
    // One batch presign; each PUT carried exactly the signed headers.
    expect(recorder.presigns()).toHaveLength(1);
    const puts = recorder.puts();
    expect(puts.map((p) => p.status)).toEqual([200, 200]);
    for (const [i, put] of puts.entries()) {
      const size = i === 0 ? small.length : large.length;
      expect(put.headers).toEqual({ "content-type": "image/png", "content-length": String(size), "if-none-match": "*" });
    }

    // Progress: never backwards (total and per file), ends at exactly 100% with every byte.
    const total = small.length + large.length;
    expect(events.length).toBeGreaterThan(5);
    for (let i = 1; i < events.length; i++) {
      expect(events[i]!.loaded).toBeGreaterThanOrEqual(events[i - 1]!.loaded);
      expect(events[i]!.percent).toBeGreaterThanOrEqual(events[i - 1]!.percent);
      for (const file of events[i]!.files) expect(file.loaded).toBeGreaterThanOrEqual(events[i - 1]!.files[file.index]!.loaded);
    }
    expect(events.some((e) => e.percent > 0 && e.percent < 100)).toBe(true);
    expect(events.filter((e) => e.percent === 100)).toHaveLength(1);
    expect(events.at(-1)).toMatchObject({ loaded: total, total, fraction: 1, percent: 100 });
    expect(events.at(-1)!.files.map((f) => f.state)).toEqual(["done", "done"]);

    // Stored as declared: the parent write's consume accepts them, and the bytes read back.
    const consumed = await consume(
      stack,
      who,
      uploaded.map((u) => u.uploadId),
    );
    expect(consumed.status).toBe(200);
    // Read back as processed (in the background): the metadata-free copy of the same picture.
    let url = (await uploader.signedUrls([uploaded[1]!.key], { expiresIn: 300 }))[0]!;
    for (let i = 0; url.status === "processing" && i < 80; i++) {
      await sleep(250);
      url = (await uploader.signedUrls([uploaded[1]!.key], { expiresIn: 300 }))[0]!;
    }
    expect(url.status).toBe("ready");
    const served = await sharp(Buffer.from(await (await fetch(url.url!)).arrayBuffer())).metadata();
    const stored = await sharp(large).metadata();
    expect([served.format, served.width, served.height]).toEqual(["png", stored.width, stored.height]);
  });

  it("retries a PUT after a network failure, with backoff, and the upload is stored once", async () => {
    const who = await member(stack);
    const bytes = pngImage();
    const recorder = recordingFetch(async (_call, attempt, forward) => {
      if (attempt === 1) throw new TypeError("fetch failed"); // the connection dropped before storage answered
      return forward();
    });
    const states: string[] = [];
    const uploader = createUploader({ apiBaseUrl: stack.api, getToken: () => who.token, fetch: recorder.fetch, retry: fastRetry });

    const [uploaded] = await uploader.upload(
      { body: bytes, contentType: "image/png" },
      { ownerType: "message", onProgress: (p) => states.push(p.files[0]!.state) },
    );

    expect(recorder.presigns()).toHaveLength(1);
    expect(recorder.puts()).toHaveLength(2);
    expect(recorder.puts()[1]!.status).toBe(200);
    expect(states).toContain("retrying");
    expect(states.at(-1)).toBe("done");
    expect((await consume(stack, who, [uploaded!.uploadId], "message")).status).toBe(200);
  });

  it("a PUT that landed but whose answer was lost counts as stored (storage's 412 on the retry)", async () => {
    const who = await member(stack);
    const bytes = pngImage(4, 4);
    const recorder = recordingFetch(async (_call, attempt, forward) => {
      if (attempt === 1) {
        const landed = await forward();
        expect(landed.status).toBe(200);
        throw new TypeError("fetch failed"); // …and the answer never reached the phone
      }
      return forward();
    });
    const uploader = createUploader({ apiBaseUrl: stack.api, getToken: () => who.token, fetch: recorder.fetch, retry: fastRetry });

    const [uploaded] = await uploader.upload({ body: bytes, contentType: "image/png" }, { ownerType: "progress_photo" });

    // The retry's answer is in the recorder after the thrown first attempt.
    expect(recorder.puts().map((p) => p.status)).toEqual([undefined, 412]);
    expect((await consume(stack, who, [uploaded!.uploadId])).status).toBe(200);
  });

  it("presigns again when storage answers 403 'Request has expired', and only the new upload is stored", async () => {
    const who = await member(shortTtl);
    const bytes = pngImage(5, 5);
    const recorder = recordingFetch(async (_call, attempt, forward) => {
      if (attempt === 1) await sleep(PAST_EXPIRY_MS); // the phone sat on the URL past its lifetime
      return forward();
    });
    const uploader = createUploader({ apiBaseUrl: shortTtl.api, getToken: () => who.token, fetch: recorder.fetch, retry: fastRetry });

    const [uploaded] = await uploader.upload({ body: bytes, contentType: "image/png" }, { ownerType: "progress_photo" });

    const [expired, fresh] = recorder.puts();
    expect(expired).toMatchObject({ status: 403, text: expect.stringContaining("Request has expired") });
    expect(fresh!.status).toBe(200);
    expect(recorder.presigns()).toHaveLength(2);
    const firstId = JSON.parse(recorder.presigns()[0]!.text!).uploads[0].uploadId as string;
    const secondId = JSON.parse(recorder.presigns()[1]!.text!).uploads[0].uploadId as string;
    expect(uploaded!.uploadId).toBe(secondId);
    expect((await consume(shortTtl, who, [secondId])).status).toBe(200);
    const stale = await consume(shortTtl, who, [firstId]);
    expect(stale.status).toBe(409);
    expect(stale.body).toEqual(errorBody("NOT_UPLOADED"));
  });

  it("a file that waited for its turn past its URL's lifetime gets a fresh URL before it is sent", async () => {
    const who = await member(shortTtl);
    const recorder = recordingFetch(async (_call, attempt, forward) => {
      if (attempt === 1) await sleep(PAST_EXPIRY_MS); // file 1 is slow; file 2 waits (concurrency 1)
      return forward();
    });
    const uploader = createUploader({ apiBaseUrl: shortTtl.api, getToken: () => who.token, fetch: recorder.fetch, retry: fastRetry, concurrency: 1 });

    const uploaded = await uploader.upload(
      [
        { body: pngImage(2, 2), contentType: "image/png" },
        { body: pngImage(3, 3), contentType: "image/png" },
      ],
      { ownerType: "progress_photo" },
    );

    // File 1: expired → re-presigned → stored. File 2: re-presigned before its first PUT.
    expect(recorder.puts().map((p) => p.status)).toEqual([403, 200, 200]);
    expect(recorder.presigns()).toHaveLength(3);
    expect(
      (
        await consume(
          shortTtl,
          who,
          uploaded.map((u) => u.uploadId),
        )
      ).status,
    ).toBe(200);
  });

  it("abort during a PUT rejects with ABORTED promptly and leaves the upload unlinked (NOT_UPLOADED)", async () => {
    const who = await member(stack);
    const big = gradientPng(1000, 800); // ≈2.4 MB
    const recorder = recordingFetch();
    const controller = new AbortController();
    const uploader = createUploader({ apiBaseUrl: stack.api, getToken: () => who.token, fetch: recorder.fetch, retry: fastRetry });

    const started = Date.now();
    const outcome = await uploader
      .upload(
        { body: big, contentType: "image/png" },
        { ownerType: "progress_photo", signal: controller.signal, onProgress: (p) => p.loaded > 0 && controller.abort() },
      )
      .catch((error: unknown) => error);

    expect(outcome).toBeInstanceOf(UploadClientError);
    expect(outcome).toMatchObject({ code: "ABORTED", status: 0 });
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(recorder.puts()).toHaveLength(1);
    const uploadId = JSON.parse(recorder.presigns()[0]!.text!).uploads[0].uploadId as string;
    const linked = await consume(stack, who, [uploadId]);
    expect(linked.status).toBe(409);
    expect(linked.body).toEqual(errorBody("NOT_UPLOADED"));
  });

  it("abort before or between attempts: nothing presigned, or the backoff wait ends at once", async () => {
    const who = await member(stack);
    const recorder = recordingFetch(async () => {
      throw new TypeError("fetch failed"); // storage never reachable
    });
    const uploader = createUploader({ apiBaseUrl: stack.api, getToken: () => who.token, fetch: recorder.fetch, retry: { retries: 5, minDelayMs: 20_000 } });

    const already = AbortSignal.abort();
    await expect(uploader.upload({ body: pngImage(), contentType: "image/png" }, { ownerType: "progress_photo", signal: already })).rejects.toMatchObject({
      code: "ABORTED",
    });
    expect(recorder.calls).toHaveLength(0);
    expect((await stack.internal("usage", { orgId: who.orgId })).body).toMatchObject({ used: 0, reserved: 0 });

    const controller = new AbortController();
    const started = Date.now();
    const pending = uploader.upload({ body: pngImage(), contentType: "image/png" }, { ownerType: "progress_photo", signal: controller.signal });
    setTimeout(() => controller.abort(), 300);
    await expect(pending).rejects.toMatchObject({ code: "ABORTED" });
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(recorder.puts()).toHaveLength(1);
  });

  it("gives up after the retries with NETWORK_ERROR", async () => {
    const who = await member(stack);
    const recorder = recordingFetch(async () => {
      throw new TypeError("fetch failed");
    });
    const uploader = createUploader({
      apiBaseUrl: stack.api,
      getToken: () => who.token,
      fetch: recorder.fetch,
      retry: { retries: 2, minDelayMs: 5, maxDelayMs: 10 },
    });

    await expect(uploader.upload({ body: pngImage(), contentType: "image/png" }, { ownerType: "progress_photo" })).rejects.toMatchObject({
      name: "UploadClientError",
      code: "NETWORK_ERROR",
      status: 0,
    });
    expect(recorder.puts()).toHaveLength(3);
  });
});

describe("typed errors", () => {
  it("mirror the API's codes, status and details", async () => {
    const who = await member(stack);
    const uploader = createUploader({ apiBaseUrl: stack.api, getToken: () => who.token });
    const png = { body: pngImage(), contentType: "image/png" };
    const caught = (promise: Promise<unknown>) =>
      promise.then(
        () => expect.fail("resolved"),
        (error: unknown) => error as UploadClientError,
      );

    const forbidden = await caught(uploader.upload(png, { ownerType: "organization_logo" }));
    const svg = await caught(uploader.upload({ body: new TextEncoder().encode("<svg/>"), contentType: "image/svg+xml" }, { ownerType: "message" }));
    const tooLarge = await caught(uploader.upload([png, { body: new Uint8Array(11 * 1024 * 1024), contentType: "image/png" }], { ownerType: "message" }));
    const anonymous = await caught(createUploader({ apiBaseUrl: stack.api, getToken: () => "not-a-jwt" }).upload(png, { ownerType: "message" }));
    const noToken = await caught(createUploader({ apiBaseUrl: stack.api, getToken: async () => null }).upload(png, { ownerType: "message" }));
    const emptyFile = await caught(uploader.upload({ body: new Uint8Array(0), contentType: "image/png" }, { ownerType: "message" }));

    expect(forbidden).toBeInstanceOf(UploadClientError);
    expect(forbidden).toMatchObject({ code: "FORBIDDEN", status: 403 });
    expect(svg).toMatchObject({ code: "UNSUPPORTED_MEDIA_TYPE", status: 415 });
    expect(tooLarge).toMatchObject({ code: "TOO_LARGE", status: 413, details: [{ index: 1, code: "TOO_LARGE", maxBytes: 10 * 1024 * 1024 }] });
    expect(anonymous).toMatchObject({ code: "UNAUTHENTICATED", status: 401 });
    expect(noToken).toMatchObject({ code: "UNAUTHENTICATED", status: 0 });
    expect(emptyFile).toMatchObject({ code: "INVALID_REQUEST", status: 0, details: [{ index: 0, path: "files.0.size" }] });
    expect((await stack.internal("usage", { orgId: who.orgId })).body).toMatchObject({ reserved: 0 });
  });

  it("storage refusing a PUT for good is STORAGE_REJECTED with storage's code, not retried", async () => {
    const who = await member(stack);
    const recorder = recordingFetch(async (call, _attempt, _forward, init) =>
      fetch(call.url.replace(/X-Amz-Signature=[0-9a-f]+/, `X-Amz-Signature=${"0".repeat(64)}`), init),
    );
    const uploader = createUploader({ apiBaseUrl: stack.api, getToken: () => who.token, fetch: recorder.fetch, retry: fastRetry });

    const error = await uploader.upload({ body: pngImage(), contentType: "image/png" }, { ownerType: "progress_photo" }).catch((e: unknown) => e);

    expect(error).toMatchObject({ code: "STORAGE_REJECTED", status: 403, details: [{ index: 0, storageCode: "SignatureDoesNotMatch" }] });
    expect(recorder.puts()).toHaveLength(1);
  });
});

describe("the client module", () => {
  it("bundles for browsers and React Native with no Node built-in", async () => {
    const result = await build({ entryPoints: ["client/index.ts"], bundle: true, write: false, format: "esm", platform: "browser", logLevel: "silent" });
    const code = result.outputFiles[0]!.text;
    expect(code).toContain("createUploader");
    expect(code).not.toMatch(/from\s*["']node:|require\(["']/);
  });
});

describe("typeForFileName", () => {
  it("guesses from own extensions only: prototype names are no type", () => {
    expect(["a.png", "b.JPEG", "c.pdf", "d.constructor", "e.__proto__", "f.toString", "g.hasOwnProperty", "noext"].map(typeForFileName)).toEqual([
      "image/png",
      "image/jpeg",
      "application/pdf",
      "",
      "",
      "",
      "",
      "",
    ]);
  });
});
