/**
 * The client's API part (client/api-client.ts) on its own, against a real node:http server that
 * answers as scripted: the token on every call, the presign body and answer, the URL deadline on
 * the server's clock, retries on transient answers (and Retry-After), and the typed errors.
 */
import { afterEach, describe, expect, it } from "vitest";
import { createApiClient, type MediaVariant, type PresignedPut, signedUrlExpiry } from "../client/api-client.js";
import type { UploadClientError } from "../client/errors.js";
import { retryPolicy } from "../client/retry.js";
import { json, type ScriptedAnswer, type ScriptedServer, startScriptedServer } from "./support/scripted-server.js";

const fastRetry = retryPolicy({ retries: 2, minDelayMs: 5, maxDelayMs: 200 });
const servers: ScriptedServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function server(answer: (n: number) => ScriptedAnswer | Promise<ScriptedAnswer>) {
  const started = await startScriptedServer((_request, n) => answer(n));
  servers.push(started);
  return started;
}

const client = (origin: string, overrides: Partial<Parameters<typeof createApiClient>[0]> = {}) =>
  createApiClient({ apiBaseUrl: `${origin}/`, getToken: () => "session-token", fetch, retry: fastRetry, ...overrides });

const presignAnswer = (expiresAt: string, url = "http://storage.test/bucket/key") => ({
  uploads: [{ uploadId: "u1", key: "org/progress_photo/user/u1.png", mode: "single", method: "PUT", url, headers: { "content-type": "image/png" }, expiresAt }],
});

const never = () => new AbortController().signal;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const sentKey = (request: { body: Buffer } | undefined) => JSON.parse(request!.body.toString()).idempotencyKey as string;
const caught = (promise: Promise<unknown>) =>
  promise.then(
    () => expect.fail("resolved"),
    (error: unknown) => error as UploadClientError,
  );

describe("createApiClient().presign", () => {
  it("POSTs the declared files with the bearer token and places the URL's lifetime on the local clock from the server's Date", async () => {
    // The server's clock is an hour ahead of ours; its URL lives 600 s by its own clock.
    const serverNow = Date.now() + 3_600_000;
    const api = await server(() => json(201, presignAnswer(new Date(serverNow + 600_000).toISOString()), { date: new Date(serverNow).toUTCString() }));

    const before = Date.now();
    const [upload] = await client(api.origin).presign(
      "progress_photo",
      [{ contentType: "image/png", size: 42, fileName: `${"n".repeat(300)}.png`, sha256: "c2hh" }],
      never(),
    );
    const after = Date.now();

    expect(api.requests).toHaveLength(1);
    const [request] = api.requests;
    expect(request).toMatchObject({ method: "POST", url: "/uploads", headers: { authorization: "Bearer session-token", "content-type": "application/json" } });
    expect(JSON.parse(request!.body.toString())).toEqual({
      ownerType: "progress_photo",
      files: [{ contentType: "image/png", size: 42, fileName: "n".repeat(255), sha256: "c2hh" }],
      idempotencyKey: expect.stringMatching(UUID),
    });
    expect(upload).toMatchObject({
      mode: "single",
      uploadId: "u1",
      key: "org/progress_photo/user/u1.png",
      url: "http://storage.test/bucket/key",
      headers: { "content-type": "image/png" },
    });
    // `Date` has whole seconds, so the deadline errs up to ~2 s early, never late.
    expect((upload as PresignedPut).deadline).toBeLessThanOrEqual(after + 600_000);
    expect((upload as PresignedPut).deadline).toBeGreaterThan(before + 600_000 - 2_000);
  });

  it("the URL's own X-Amz-Date + X-Amz-Expires wins when it ends before expiresAt", async () => {
    const now = Date.now();
    const amzDate = new Date(now)
      .toISOString()
      .replace(/[-:]/g, "")
      .replace(/\.\d{3}/, "");
    const api = await server(() =>
      json(201, presignAnswer(new Date(now + 3_600_000).toISOString(), `http://storage.test/b/k?X-Amz-Date=${amzDate}&X-Amz-Expires=60`), {
        date: new Date(now).toUTCString(),
      }),
    );

    const [upload] = await client(api.origin).presign("message", [{ contentType: "image/png", size: 1 }], never());

    expect(upload).toMatchObject({ mode: "single" });
    expect((upload as PresignedPut).deadline).toBeLessThanOrEqual(Date.now() + 60_000);
    expect((upload as PresignedPut).deadline).toBeGreaterThan(now + 60_000 - 3_000);
  });

  it("retries a 503 after its Retry-After, and then succeeds", async () => {
    const expiresAt = new Date(Date.now() + 600_000).toISOString();
    const api = await server((n) =>
      n === 0 ? json(503, { error: { code: "DEPENDENCY_UNAVAILABLE", message: "redis" } }, { "retry-after": "0.1" }) : json(201, presignAnswer(expiresAt)),
    );

    const started = Date.now();
    const uploads = await client(api.origin).presign("progress_photo", [{ contentType: "image/png", size: 1 }], never());

    expect(uploads.map((u) => u.uploadId)).toEqual(["u1"]);
    expect(api.requests).toHaveLength(2);
    expect(Date.now() - started).toBeGreaterThanOrEqual(90);
  });

  it("a retried presign sends the same idempotency key, and the next presign a new one", async () => {
    const expiresAt = new Date(Date.now() + 600_000).toISOString();
    const api = await server((n) =>
      n === 0 || n === 2 ? json(503, { error: { code: "DEPENDENCY_UNAVAILABLE", message: "redis" } }) : json(201, presignAnswer(expiresAt)),
    );
    const presigner = client(api.origin);
    const files = [{ contentType: "image/png", size: 1 }];

    await presigner.presign("progress_photo", files, never());
    await presigner.presign("progress_photo", files, never());

    const keys = api.requests.map(sentKey);
    expect(keys).toHaveLength(4);
    expect(keys[0]).toMatch(UUID);
    expect([keys[1], keys[3]]).toEqual([keys[0], keys[2]]);
    expect(keys[2]).not.toBe(keys[0]);
  });

  it("a Retry-After longer than maxDelayMs is not waited for: the API's error at once", async () => {
    const api = await server(() =>
      json(429, { error: { code: "RATE_LIMITED", message: "slow down", details: [{ retryAfterSeconds: 60 }] } }, { "retry-after": "60" }),
    );

    const error = await caught(client(api.origin).presign("progress_photo", [{ contentType: "image/png", size: 1 }], never()));

    expect(error).toMatchObject({ name: "UploadClientError", code: "RATE_LIMITED", status: 429, message: "slow down", details: [{ retryAfterSeconds: 60 }] });
    expect(api.requests).toHaveLength(1);
  });

  it("an API error that no retry fixes is thrown as is, after one request", async () => {
    const api = await server(() => json(415, { error: { code: "UNSUPPORTED_MEDIA_TYPE", message: "no svg", details: [{ index: 0 }] } }));

    const error = await caught(client(api.origin).presign("message", [{ contentType: "image/svg+xml", size: 1 }], never()));

    expect(error).toMatchObject({ code: "UNSUPPORTED_MEDIA_TYPE", status: 415, details: [{ index: 0 }] });
    expect(api.requests).toHaveLength(1);
  });

  it("a gateway's HTML 502 is retried, then BAD_RESPONSE with its status", async () => {
    const api = await server(() => ({ status: 502, headers: { "content-type": "text/html" }, body: "<html>Bad Gateway</html>" }));

    const error = await caught(client(api.origin).presign("message", [{ contentType: "image/png", size: 1 }], never()));

    expect(error).toMatchObject({ code: "BAD_RESPONSE", status: 502 });
    expect(api.requests).toHaveLength(3);
  });

  it("an answer that is not the contract's (wrong number of uploads) is BAD_RESPONSE", async () => {
    const api = await server(() => json(201, { uploads: [] }));

    const error = await caught(client(api.origin).presign("message", [{ contentType: "image/png", size: 1 }], never()));

    expect(error).toMatchObject({ code: "BAD_RESPONSE", status: 201 });
  });

  it("no answer at all: NETWORK_ERROR after every retry", async () => {
    const api = await server(() => "drop");

    const error = await caught(client(api.origin).presign("message", [{ contentType: "image/png", size: 1 }], never()));

    expect(error).toMatchObject({ code: "NETWORK_ERROR", status: 0 });
    expect(api.requests).toHaveLength(3);
  });

  it("no session token: UNAUTHENTICATED before any request; a failing getToken likewise", async () => {
    const api = await server(() => json(201, presignAnswer(new Date().toISOString())));

    const missing = await caught(client(api.origin, { getToken: async () => null }).presign("message", [{ contentType: "image/png", size: 1 }], never()));
    const broken = await caught(
      client(api.origin, {
        getToken: () => {
          throw new Error("clerk offline");
        },
      }).presign("message", [{ contentType: "image/png", size: 1 }], never()),
    );

    expect(missing).toMatchObject({ code: "UNAUTHENTICATED", status: 0 });
    expect(broken).toMatchObject({ code: "UNAUTHENTICATED", status: 0, cause: new Error("clerk offline") });
    expect(api.requests).toHaveLength(0);
  });

  it("an abort during the backoff wait ends it at once with ABORTED", async () => {
    const api = await server(() => json(503, { error: { code: "DEPENDENCY_UNAVAILABLE", message: "redis" } }));
    const controller = new AbortController();
    const slow = retryPolicy({ retries: 3, minDelayMs: 20_000, maxDelayMs: 20_000 });

    const started = Date.now();
    const pending = caught(client(api.origin, { retry: slow }).presign("message", [{ contentType: "image/png", size: 1 }], controller.signal));
    setTimeout(() => controller.abort(), 100);
    const error = await pending;

    expect(error).toMatchObject({ code: "ABORTED", status: 0 });
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(api.requests).toHaveLength(1);
  });
});

describe("createApiClient().signedUrls", () => {
  it("POSTs the keys and expiresIn and returns the URLs in request order", async () => {
    const urls = [
      { key: "a", url: "http://storage.test/a", expiresAt: "2030-01-01T00:00:00.000Z" },
      { key: "b", url: "http://storage.test/b", expiresAt: "2030-01-01T00:00:00.000Z" },
    ];
    const api = await server(() => json(200, { urls }));

    const signed = await client(api.origin).signedUrls(["a", "b"], { expiresIn: 300 });

    expect(signed).toEqual(urls);
    expect(api.requests[0]).toMatchObject({ method: "POST", url: "/uploads/signed-urls" });
    expect(JSON.parse(api.requests[0]!.body.toString())).toEqual({ keys: ["a", "b"], expiresIn: 300 });
  });

  it("asks for a video's playback rendition and hands back its facts (the variant is in the client's types)", async () => {
    const playback = {
      key: "v",
      status: "ready",
      url: "http://storage.test/v/playback.mp4",
      expiresAt: "2030-01-01T00:00:00.000Z",
      width: 1920,
      height: 1080,
      durationMs: 2000,
      placeholder: "AAAA",
    };
    const api = await server(() => json(200, { urls: [playback] }));
    const variant: MediaVariant = "playback";

    const signed = await client(api.origin).signedUrls(["v"], { expiresIn: 900, variant });

    expect(signed).toEqual([playback]);
    expect(JSON.parse(api.requests[0]!.body.toString())).toEqual({ keys: ["v"], expiresIn: 900, variant: "playback" });
  });

  it("fewer URLs than keys is BAD_RESPONSE", async () => {
    const api = await server(() => json(200, { urls: [] }));

    expect(await caught(client(api.origin).signedUrls(["a"]))).toMatchObject({ code: "BAD_RESPONSE", status: 200 });
  });
});

describe("createApiClient().policy", () => {
  const policy = {
    role: "member",
    ownerTypes: [{ ownerType: "message", createRoles: ["member", "coach", "admin"], maxBytesByType: { "image/png": 10_485_760 } }],
  };

  it("GETs /uploads/policy with the bearer token and no body, and returns the answer", async () => {
    const api = await server(() => json(200, policy));

    expect(await client(api.origin).policy()).toEqual(policy);
    expect(api.requests).toHaveLength(1);
    expect(api.requests[0]).toMatchObject({ method: "GET", url: "/uploads/policy", headers: { authorization: "Bearer session-token" } });
    expect(api.requests[0]!.headers["content-type"]).toBeUndefined();
    expect(api.requests[0]!.body.length).toBe(0);
  });

  it("is retried on a transient answer, and an error answer is the typed error", async () => {
    const flaky = await server((n) => (n === 0 ? json(503, { error: { code: "DEPENDENCY_UNAVAILABLE", message: "later" } }) : json(200, policy)));
    expect(await client(flaky.origin).policy()).toEqual(policy);
    expect(flaky.requests).toHaveLength(2);

    const refusing = await server(() => json(401, { error: { code: "UNAUTHENTICATED", message: "expired" } }));
    expect(await caught(client(refusing.origin).policy())).toMatchObject({ code: "UNAUTHENTICATED", status: 401, message: "expired" });
  });

  it("an answer without the owner types is BAD_RESPONSE", async () => {
    const api = await server(() => json(200, { role: "member" }));

    expect(await caught(client(api.origin).policy())).toMatchObject({ code: "BAD_RESPONSE", status: 200 });
  });
});

describe("signedUrlExpiry", () => {
  it("is X-Amz-Date plus X-Amz-Expires, or undefined for a URL without them", () => {
    expect(signedUrlExpiry("https://s.test/k?X-Amz-Date=20300102T030405Z&X-Amz-Expires=600&X-Amz-Signature=00")).toBe(Date.UTC(2030, 0, 2, 3, 4, 5) + 600_000);
    expect(signedUrlExpiry("https://s.test/k?X-Amz-Expires=600")).toBeUndefined();
  });
});
