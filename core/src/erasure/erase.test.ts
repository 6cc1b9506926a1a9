/**
 * Erasure's resumability, exhaustively, on the in-memory adapters: a member's uploads of every kind
 * are erased once straight through, then again with a crash injected at each call the erasure makes
 * to any port — once before the call reaches it, once after it took effect (the answer lost) — and
 * every run, resumed with the last cursor answered, must end in the same state with the same receipt.
 */
import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { MemoryErasures } from "../adapters/memory/memory-erasures.js";
import { MemoryObjectStore } from "../adapters/memory/memory-object-store.js";
import { MemoryStore } from "../adapters/memory/memory-store.js";
import type { OwnerType } from "../contract/catalog.js";
import type { Log } from "../logging.js";
import type { ReadyImage } from "../media/media-variants.js";
import { mediaKey, variantKey } from "../policies/object-keys.js";
import { NO_EDGE_CACHE } from "../publishing/edge-cache.js";
import type { PublishedItem } from "../publishing/published-media.js";
import type { NewUpload } from "../uploads/upload.js";
import { type EraseDeps, type EraseResponse, eraseOrg, eraseUser, erasureRefOf } from "./erase.js";
import type { Erasures } from "./erasure-store.js";

const ORG = "org_1";
const MEMBER = "user_erased";
const OTHER = "user_other";
const BUCKETS = { media: "media", compliance: "compliance" };
const PUBLIC = "public";
const QUOTA = 1e9;

let ids = 0;
const nextId = (): string => createHash("md5").update(String(++ids)).digest("hex");

interface World {
  store: MemoryStore;
  objects: MemoryObjectStore;
  erasures: MemoryErasures;
}

async function put(world: World, bucket: string, key: string, size: number): Promise<void> {
  await world.objects.put({ bucket, key, body: new Uint8Array(size), contentType: "image/jpeg", checksumSha256: "" });
}

/** A linked image of `userId` with three processed variants (and, for a logo, two published renditions). */
async function linkedImage(world: World, userId: string, ownerType: OwnerType, size: number): Promise<void> {
  const uploadId = nextId();
  const key = mediaKey({ orgId: ORG, ownerType, userId, uploadId, contentType: "image/jpeg" });
  const upload: NewUpload = { uploadId, ownerType, orgId: ORG, userId, bucket: "media", key, contentType: "image/jpeg", size };
  await world.store.stage({ uploads: [upload], lifetimeSeconds: 600, quota: { orgId: ORG, defaultQuotaBytes: QUOTA } });
  await put(world, "media", key, size);
  await world.store.commitConsume({
    uploadIds: [uploadId],
    owner: { orgId: ORG, userId },
    ownerType,
    replayKey: nextId(),
    stored: { fingerprint: "f", response: "{}" },
    replayTtlSeconds: 60,
    finalObjects: [{ bucket: "media", key }],
  });
  const variant = (name: "original" | "display" | "thumb", bytes: number) => ({ key: variantKey(key, name, "webp"), contentType: "image/webp", size: bytes });
  const outcome: ReadyImage = {
    status: "ready",
    width: 10,
    height: 10,
    placeholder: "p",
    variants: { original: variant("original", 30), display: variant("display", 20), thumb: variant("thumb", 10) },
  };
  for (const v of Object.values(outcome.variants)) await put(world, "media", v.key, v.size);
  await world.store.recordMedia({ bucket: "media", key, orgId: ORG }, outcome);
  if (ownerType !== "organization_logo") return;
  const renditions = [320, 640].map((width) => ({
    key: `o/${ORG}/${uploadId}/${width}.webp`,
    width,
    height: width,
    contentType: "image/webp" as const,
    size: width,
  }));
  for (const r of renditions) await put(world, PUBLIC, r.key, r.size);
  const item: PublishedItem = { key, ownerType, width: 10, height: 10, placeholder: "p", renditions, defaultKey: renditions[1]!.key };
  await world.store.recordPublished({ bucket: "media", key, orgId: ORG }, item);
}

async function makeWorld(): Promise<World> {
  const store = new MemoryStore();
  const world = { store, objects: new MemoryObjectStore(), erasures: new MemoryErasures(store) };
  await linkedImage(world, MEMBER, "progress_photo", 100);
  await linkedImage(world, MEMBER, "progress_photo", 110);
  await linkedImage(world, MEMBER, "message", 50);
  await linkedImage(world, MEMBER, "organization_logo", 70);
  await linkedImage(world, OTHER, "progress_photo", 90);
  // Staged, its bytes landed; and an open multipart upload.
  const staged = nextId();
  const stagedKey = mediaKey({ orgId: ORG, ownerType: "progress_photo", userId: MEMBER, uploadId: staged, contentType: "image/jpeg" });
  await store.stage({
    uploads: [
      { uploadId: staged, ownerType: "progress_photo", orgId: ORG, userId: MEMBER, bucket: "media", key: stagedKey, contentType: "image/jpeg", size: 40 },
    ],
    lifetimeSeconds: 600,
    quota: { orgId: ORG, defaultQuotaBytes: QUOTA },
  });
  await put(world, "media", stagedKey, 40);
  const big = nextId();
  const bigKey = mediaKey({ orgId: ORG, ownerType: "exercise_comment", userId: MEMBER, uploadId: big, contentType: "video/mp4" });
  const { storageUploadId } = await world.objects.createMultipart("media", bigKey, "video/mp4");
  await store.stage({
    uploads: [
      {
        uploadId: big,
        ownerType: "exercise_comment",
        orgId: ORG,
        userId: MEMBER,
        bucket: "media",
        key: bigKey,
        contentType: "video/mp4",
        size: 20_000_000,
        multipart: { storageUploadId, partSize: 10_000_000, partCount: 2 },
      },
    ],
    lifetimeSeconds: 600,
    quota: { orgId: ORG, defaultQuotaBytes: QUOTA },
  });
  return world;
}

/**
 * The deps, each port wrapped so that call number `crashAt` (counted across all of them) throws —
 * before reaching the port (`before`) or after it took effect (`after`).
 */
function depsWithCrash(world: World, crashAt: number, when: "before" | "after"): { deps: EraseDeps; calls: () => number } {
  let calls = 0;
  const wrap = <T extends object>(target: T): T =>
    new Proxy(target, {
      get(object, property, receiver) {
        const value = Reflect.get(object, property, receiver);
        if (typeof value !== "function" || property === "constructor") return value;
        return (...args: unknown[]) => {
          calls += 1;
          const crash = calls === crashAt;
          if (crash && when === "before") throw new Error(`crash before call ${calls}`);
          const result = value.apply(object, args);
          if (!crash) return result;
          // An async iterable (a listing) is consumed by the caller: crash on its first page instead.
          if (result && typeof (result as Promise<unknown>).then === "function") {
            return (result as Promise<unknown>).then(() => {
              throw new Error(`crash after call ${calls}`);
            });
          }
          throw new Error(`crash after call ${calls}`);
        };
      },
    });
  const objects = wrap(world.objects);
  const store = wrap(world.store);
  return {
    deps: {
      erasures: wrap(world.erasures),
      store,
      links: store,
      variants: store,
      objects,
      buckets: BUCKETS,
      unpublishing: { published: store, public: { name: PUBLIC, baseUrl: "https://p.test/", objects }, edgeCache: NO_EDGE_CACHE },
      recordsRetentionSeconds: 100,
    },
    calls: () => calls,
  };
}

async function runToTheEnd(world: World, crashAt: number, when: "before" | "after") {
  const { deps, calls } = depsWithCrash(world, crashAt, when);
  let cursor: string | undefined;
  let crashed = false;
  for (let step = 0; step < 200; step++) {
    let answer: EraseResponse;
    try {
      answer = await eraseUser(deps, { orgId: ORG, userId: MEMBER, idempotencyKey: "k", batchSize: 1, maxBatches: 3, ...(cursor ? { cursor } : {}) });
    } catch (error) {
      if (!String(error).includes("crash")) throw error;
      crashed = true;
      continue;
    }
    if (answer.status === "complete") return { receipt: answer.receipt, calls: calls(), crashed };
    cursor = answer.cursor;
  }
  throw new Error("did not complete");
}

/** Everything an erasure can change, in comparable form. */
function stateOf(world: World) {
  const snapshot = world.store.snapshot();
  return {
    objects: [...world.objects.objects.keys()].sort(),
    multipart: [...world.objects.multipartUploads.keys()].length,
    linked: snapshot.linked.map(([id]) => id).sort(),
    quotas: snapshot.quotas,
    published: snapshot.published ?? [],
    uploads: snapshot.uploads.map(([id, u]) => [id, u.status] as const).sort(),
  };
}

const countsOf = (receipt: Extract<EraseResponse, { status: "complete" }>["receipt"]) => ({
  deleted: receipt.deleted,
  objects: receipt.objects,
  bytes: receipt.bytes,
  retained: receipt.retained,
});

describe("erase-user, crashed at any call and resumed", () => {
  it("ends in the same state with the same receipt as an uninterrupted erasure, wherever the crash", async () => {
    ids = 0;
    const reference = await makeWorld();
    const clean = await runToTheEnd(reference, 0, "before");
    const expected = stateOf(reference);
    // Every port call of the run is a crash point below (batches of one, three per invocation).
    expect(clean.calls).toBeGreaterThan(40);
    // What the member had is gone; the other member's photo and its variants stay.
    expect(expected.objects.filter((k) => k.includes(MEMBER))).toEqual([]);
    expect(expected.objects.filter((k) => k.includes(OTHER))).toHaveLength(4);
    expect(expected.multipart).toBe(0);
    expect(expected.quotas).toEqual([[ORG, { used: 90 + 60, reserved: 0, inFlight: [] }]]);
    expect(countsOf(clean.receipt).deleted).toEqual({
      progress_photo: { uploads: 3, objects: 9, bytes: 100 + 110 + 2 * 60 + 40 },
      message: { uploads: 1, objects: 4, bytes: 50 + 60 },
      organization_logo: { uploads: 1, objects: 6, bytes: 70 + 60 + 320 + 640 },
    });

    for (const when of ["before", "after"] as const) {
      for (let crashAt = 1; crashAt <= clean.calls; crashAt++) {
        ids = 0;
        const world = await makeWorld();
        const run = await runToTheEnd(world, crashAt, when);
        expect({ when, crashAt, crashed: run.crashed, state: stateOf(world), counts: countsOf(run.receipt) }).toEqual({
          when,
          crashAt,
          crashed: true,
          state: expected,
          counts: countsOf(clean.receipt),
        });
      }
    }
  });
});

describe("erase-user, bounded", () => {
  it("erases 10,000 uploads in batches of 1000: each invocation of one batch makes one listing, one DeleteObjects and at most four Redis steps", async () => {
    const store = new MemoryStore();
    const objects = new MemoryObjectStore();
    const world = { store, objects, erasures: new MemoryErasures(store) };
    const uploads: NewUpload[] = Array.from({ length: 10_000 }, (_, i) => {
      const uploadId = createHash("md5").update(`bulk${i}`).digest("hex");
      const key = mediaKey({ orgId: ORG, ownerType: "message", userId: MEMBER, uploadId, contentType: "image/jpeg" });
      return { uploadId, ownerType: "message", orgId: ORG, userId: MEMBER, bucket: "media", key, contentType: "image/jpeg", size: 1 };
    });
    for (let i = 0; i < uploads.length; i += 100) {
      const batch = uploads.slice(i, i + 100);
      await store.stage({ uploads: batch, lifetimeSeconds: 600, quota: { orgId: ORG, defaultQuotaBytes: QUOTA } });
      for (const u of batch) await put(world, "media", u.key, 1);
      await store.commitConsume({
        uploadIds: batch.map((u) => u.uploadId),
        owner: { orgId: ORG, userId: MEMBER },
        ownerType: "message",
        replayKey: `bulk${i}`,
        stored: { fingerprint: "f", response: "{}" },
        replayTtlSeconds: 60,
        finalObjects: batch.map((u) => ({ bucket: "media", key: u.key })),
      });
    }
    const counted = new Map<string, number>();
    const counting = <T extends object>(name: string, target: T): T =>
      new Proxy(target, {
        get(object, property, receiver) {
          const value = Reflect.get(object, property, receiver);
          if (typeof value !== "function") return value;
          return (...args: unknown[]) => {
            counted.set(name, (counted.get(name) ?? 0) + 1);
            return value.apply(object, args);
          };
        },
      });
    const redis = counting("redis", store);
    const deps: EraseDeps = {
      erasures: counting("redis", world.erasures),
      store: redis,
      links: redis,
      variants: redis,
      objects: counting("storage", objects),
      buckets: BUCKETS,
      unpublishing: { published: redis, public: { name: PUBLIC, baseUrl: "https://p.test/", objects: counting("storage", objects) }, edgeCache: NO_EDGE_CACHE },
      recordsRetentionSeconds: 100,
    };

    let cursor: string | undefined;
    const perInvocation: { redis: number; storage: number }[] = [];
    for (let step = 0; step < 100; step++) {
      counted.clear();
      const answer = await eraseUser(deps, {
        orgId: ORG,
        userId: MEMBER,
        idempotencyKey: "bulk",
        batchSize: 1000,
        maxBatches: 1,
        ...(cursor ? { cursor } : {}),
      });
      perInvocation.push({ redis: counted.get("redis") ?? 0, storage: counted.get("storage") ?? 0 });
      if (answer.status === "complete") {
        expect(answer.receipt.deleted).toEqual({ message: { uploads: 10_000, objects: 10_000, bytes: 10_000 } });
        break;
      }
      cursor = answer.cursor;
    }

    expect(objects.objects.size).toBe(0);
    expect(store.linked.size).toBe(0);
    // The ten batches of the message pass: begin, mediaStates, note, unlink — then list and delete.
    expect(perInvocation.filter((c) => c.storage === 2)).toEqual(Array.from({ length: 10 }, () => ({ redis: 4, storage: 2 })));
    expect(Math.max(...perInvocation.map((c) => c.redis + c.storage))).toBeLessThanOrEqual(6);
  });

  it("starts no batch with less than 15 s of the invocation left, but always runs one", async () => {
    ids = 0;
    const world = await makeWorld();
    const { deps } = depsWithCrash(world, 0, "before");
    let left = 16_000;
    const answer = await eraseUser({ ...deps, remainingTimeMs: () => (left -= 2_000) }, { orgId: ORG, userId: MEMBER, idempotencyKey: "timed", batchSize: 1 });
    // 16 s: the first batch runs (14 s left after it), the second would start under the reserve.
    expect(answer).toEqual({ status: "in_progress", cursor: expect.any(String), progress: expect.any(Object) });
  });
});

describe("erase cursors", () => {
  it("a cursor of another erasure, or not a cursor at all, is INVALID_REQUEST and changes nothing", async () => {
    ids = 0;
    const world = await makeWorld();
    const { deps } = depsWithCrash(world, 0, "before");
    const first = await eraseUser(deps, { orgId: ORG, userId: MEMBER, idempotencyKey: "one", batchSize: 1, maxBatches: 1 });
    if (first.status !== "in_progress") throw new Error("one batch does not finish this erasure");
    const before = stateOf(world);

    for (const cursor of [first.cursor, "not-a-cursor", Buffer.from('{"v":1,"e":"x","p":99,"a":null}').toString("base64url")]) {
      await expect(eraseUser(deps, { orgId: ORG, userId: MEMBER, idempotencyKey: "two", batchSize: 1, cursor })).rejects.toMatchObject({
        code: "INVALID_REQUEST",
      });
    }
    expect(stateOf(world)).toEqual(before);
  });
});

describe("erase's audit line", () => {
  /** A log that keeps its "erasure complete" lines. */
  function auditLog() {
    const lines: Record<string, unknown>[] = [];
    const log: Log = {
      info: (message, fields) => {
        if (message === "erasure complete") lines.push(fields ?? {});
      },
      warn: () => undefined,
      error: () => undefined,
    };
    return { log, lines };
  }
  /** The line a receipt is logged with. */
  const lineOf = (receipt: Extract<EraseResponse, { status: "complete" }>["receipt"], replay: boolean) => ({
    erasureId: erasureRefOf({ orgId: ORG, userId: MEMBER }, "audit").id,
    replay,
    orgId: ORG,
    userId: MEMBER,
    deleted: receipt.deleted,
    objects: receipt.objects,
    bytes: receipt.bytes,
    retained: 0,
    retainedUntil: null,
    startedAt: receipt.startedAt,
    completedAt: receipt.completedAt,
    durationMs: Date.parse(receipt.completedAt) - Date.parse(receipt.startedAt),
  });
  const request = { orgId: ORG, userId: MEMBER, idempotencyKey: "audit", batchSize: 500 };

  it("an erasure that completes logs it once, not as a replay", async () => {
    ids = 0;
    const world = await makeWorld();
    const { deps } = depsWithCrash(world, 0, "before");
    const audit = auditLog();

    const answer = await eraseUser({ ...deps, log: audit.log }, request);

    if (answer.status !== "complete") throw new Error("one call erases this member");
    expect(audit.lines).toEqual([lineOf(answer.receipt, false)]);
  });

  it("a crash after the receipt was stored loses no audit line: the retry answered with the stored receipt logs it, as a replay", async () => {
    ids = 0;
    const world = await makeWorld();
    const { deps } = depsWithCrash(world, 0, "before");
    // finishErasure stores the receipt, then the invocation dies before it could log.
    const dying: Erasures = new Proxy(world.erasures, {
      get(target, property, receiver) {
        const value = Reflect.get(target, property, receiver);
        if (typeof value !== "function") return value;
        if (property !== "finishErasure") return value.bind(target);
        return async (...args: Parameters<Erasures["finishErasure"]>) => {
          await target.finishErasure(...args);
          throw new Error("crash after the receipt was stored");
        };
      },
    });
    const audit = auditLog();
    await expect(eraseUser({ ...deps, erasures: dying, log: audit.log }, request)).rejects.toThrow("crash after the receipt was stored");
    expect(audit.lines).toEqual([]);

    const retried = await eraseUser({ ...deps, log: audit.log }, request);

    if (retried.status !== "complete") throw new Error("the stored receipt answers the retry");
    expect(audit.lines).toEqual([lineOf(retried.receipt, true)]);
  });
});

describe("erase and publications whose original is gone", () => {
  /** The member's published logo, its original object deleted from storage outside the service (its records kept). */
  async function worldWithStrandedLogo() {
    ids = 0;
    const world = await makeWorld();
    const published = world.store.snapshot().published ?? [];
    const [, item] = published.find(([, value]) => value.key.includes(`/${MEMBER}/`)) ?? [];
    if (!item) throw new Error("makeWorld publishes the member's logo");
    await world.objects.deleteObjects("media", [item.key]);
    return { world, item };
  }

  it.each(["erase-user", "erase-org"] as const)(
    "%s unpublishes it: renditions deleted, purged from the CDN, record dropped, counted once",
    async (operation) => {
      const { world, item } = await worldWithStrandedLogo();
      const { deps } = depsWithCrash(world, 0, "before");
      const purged: string[] = [];
      const request = { idempotencyKey: "stranded", batchSize: 500 };

      const answer =
        operation === "erase-user"
          ? await eraseUser(
              { ...deps, unpublishing: { ...deps.unpublishing, edgeCache: { purge: async (urls) => void purged.push(...urls) } } },
              { ...request, orgId: ORG, userId: MEMBER },
            )
          : await eraseOrg(
              { ...deps, unpublishing: { ...deps.unpublishing, edgeCache: { purge: async (urls) => void purged.push(...urls) } } },
              { ...request, orgId: ORG },
            );

      if (answer.status !== "complete") throw new Error("one call erases this scope");
      const renditionKeys = item.renditions.map((r) => r.key);
      expect([...world.objects.objects.keys()].filter((stored) => renditionKeys.some((key) => stored.endsWith(key)))).toEqual([]);
      expect(world.store.snapshot().published ?? []).toEqual([]);
      expect(purged).toEqual(renditionKeys.map((key) => `https://p.test/${key}`));
      // The renditions are in the receipt once, with the logo's owner type.
      expect(answer.receipt.deleted.organization_logo?.objects).toBeGreaterThanOrEqual(item.renditions.length);
    },
  );
});
