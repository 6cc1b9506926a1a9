/**
 * The contract of the staging port (StagingStore), run against every adapter: in-memory, ioredis +
 * real Redis, and the real Upstash client through the bridge onto the same Redis. Quota effects of
 * its steps are observed through the QuotaLedger port of the same store.
 */
import type { RateLimit } from "@fitkit/core/policies/rate-limit";
import type { LinkedObjects } from "@fitkit/core/quotas/linked-objects";
import type { QuotaLedger } from "@fitkit/core/quotas/quota-ledger";
import type { CommitConsumeRequest, StagingStore } from "@fitkit/core/staging/staging-store";
import type { NewUpload } from "@fitkit/core/uploads/upload";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { newUpload, uniqueId } from "./support/fixtures.js";
import { ADAPTERS, RedisBackends } from "./support/staging-adapters.js";

const backends = new RedisBackends();
beforeAll(() => backends.start());
afterAll(() => backends.close());

const DEFAULT_QUOTA = 1_000_000;

function commitRequest(uploads: NewUpload[], overrides: Partial<CommitConsumeRequest> = {}): CommitConsumeRequest {
  const first = uploads[0]!;
  return {
    uploadIds: uploads.map((u) => u.uploadId),
    owner: { orgId: first.orgId, userId: first.userId },
    ownerType: first.ownerType,
    replayKey: uniqueId("replay"),
    stored: { fingerprint: "fp", response: JSON.stringify({ uploads: uploads.map((u) => u.uploadId) }) },
    replayTtlSeconds: 60,
    finalObjects: uploads.map((u) => ({ bucket: u.bucket, key: u.key })),
    ...overrides,
  };
}

async function stage(store: StagingStore, uploads: NewUpload[], lifetimeSeconds = 600) {
  const outcome = await store.stage({ uploads, lifetimeSeconds, quota: { orgId: uploads[0]!.orgId, defaultQuotaBytes: DEFAULT_QUOTA } });
  expect(outcome.ok).toBe(true);
  return outcome as { ok: true; now: number };
}

describe.each(ADAPTERS)("staging store contract: %s", (adapter) => {
  let store: StagingStore;
  let quotas: QuotaLedger;
  let links: LinkedObjects;
  beforeAll(() => {
    const instance = backends.store(adapter);
    store = instance;
    quotas = instance;
    links = instance;
  });

  it("stages every upload with status, deadline from store time, and the declared fields intact", async () => {
    const orgId = uniqueId("org");
    const uploads = [newUpload({ orgId }), newUpload({ orgId, size: 2000 })];
    const { now } = await stage(store, uploads, 600);

    const snapshot = await store.loadForConsume(
      uploads.map((u) => u.uploadId),
      uniqueId("replay"),
    );

    expect(snapshot.replay).toBeNull();
    expect(snapshot.now).toBeGreaterThanOrEqual(now);
    expect(snapshot.uploads).toEqual(uploads.map((u) => ({ ...u, status: "staged", deadline: now + 600_000, createdAt: now })));
    expect(await quotas.usage(orgId, DEFAULT_QUOTA)).toEqual({ used: 0, reserved: 3000, quota: DEFAULT_QUOTA });
  });

  it("keeps values that look like numbers, JSON or null exactly as given", async () => {
    const tricky = ["123", "null", "true", '{"a":1}', "[1,2]", "0012", "1e5", "émoji 🏋️ / \\ \" '", ""];
    const uploads = tricky.map((fileName) =>
      newUpload({ fileName, meta: { form: fileName, n: "42" }, sha256: "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=" }),
    );
    await stage(store, uploads);

    const snapshot = await store.loadForConsume(
      uploads.map((u) => u.uploadId),
      uniqueId("replay"),
    );

    expect(snapshot.uploads.map((u) => u?.fileName)).toEqual(tricky);
    expect(snapshot.uploads.map((u) => u?.meta)).toEqual(tricky.map((form) => ({ form, n: "42" })));
  });

  it("answers unknown ids with null, in request order", async () => {
    const known = newUpload();
    await stage(store, [known]);

    const snapshot = await store.loadForConsume(["unknown1", known.uploadId, "unknown2"], uniqueId("replay"));

    expect(snapshot.uploads.map((u) => u?.uploadId ?? null)).toEqual([null, known.uploadId, null]);
  });

  it("reads upload records in any status, in request order, unknown ids as null; no ids is no records", async () => {
    const staged = newUpload();
    const consumed = newUpload();
    await stage(store, [staged]);
    await stage(store, [consumed]);
    expect(await store.commitConsume(commitRequest([consumed]))).toEqual({ ok: true });

    const records = await store.uploadRecords([consumed.uploadId, "unknown", staged.uploadId]);

    expect(records.map((r) => (r ? { uploadId: r.uploadId, status: r.status, key: r.key } : null))).toEqual([
      { uploadId: consumed.uploadId, status: "consumed", key: consumed.key },
      null,
      { uploadId: staged.uploadId, status: "staged", key: staged.key },
    ]);
    expect(await store.uploadRecords([])).toEqual([]);
  });

  it("consumes all or nothing: one unknown id leaves the others staged", async () => {
    const orgId = uniqueId("org");
    const good = newUpload({ orgId });
    await stage(store, [good]);
    const request = commitRequest([good]);
    request.uploadIds = [good.uploadId, "missing"];
    request.finalObjects.push({ bucket: "media", key: "x" });

    const outcome = await store.commitConsume(request);

    expect(outcome).toEqual({ ok: false, failures: [{ uploadId: "missing", code: "NOT_FOUND" }] });
    const [after] = (await store.loadForConsume([good.uploadId], uniqueId("r"))).uploads;
    expect(after?.status).toBe("staged");
    expect(await quotas.usage(orgId, DEFAULT_QUOTA)).toEqual({ used: 0, reserved: 1000, quota: DEFAULT_QUOTA });
  });

  it("consumes a batch, settles its quota, and replays the stored reply under the same key", async () => {
    const orgId = uniqueId("org");
    const uploads = [newUpload({ orgId, size: 100 }), newUpload({ orgId, size: 200 })];
    await stage(store, uploads);
    const request = commitRequest(uploads);

    expect(await store.commitConsume(request)).toEqual({ ok: true });
    expect(await store.commitConsume(request)).toEqual({ ok: false, replay: request.stored });

    const snapshot = await store.loadForConsume(request.uploadIds, request.replayKey);
    expect(snapshot.replay).toEqual(request.stored);
    expect(snapshot.uploads.map((u) => u?.status)).toEqual(["consumed", "consumed"]);
    expect(await quotas.usage(orgId, DEFAULT_QUOTA)).toEqual({ used: 300, reserved: 0, quota: DEFAULT_QUOTA });
  });

  it("a second consume under another key is ALREADY_CONSUMED", async () => {
    const upload = newUpload();
    await stage(store, [upload]);
    await store.commitConsume(commitRequest([upload]));

    const second = await store.commitConsume(commitRequest([upload]));

    expect(second).toEqual({ ok: false, failures: [{ uploadId: upload.uploadId, code: "ALREADY_CONSUMED" }] });
  });

  it("refuses another owner or owner type with FORBIDDEN", async () => {
    const upload = newUpload({ userId: "user_a" });
    await stage(store, [upload]);

    const otherUser = await store.commitConsume(commitRequest([upload], { owner: { orgId: upload.orgId, userId: "user_b" } }));
    const otherOrg = await store.commitConsume(commitRequest([upload], { owner: { orgId: "org_other", userId: "user_a" } }));
    const otherType = await store.commitConsume(commitRequest([upload], { ownerType: "message" }));

    for (const outcome of [otherUser, otherOrg, otherType]) {
      expect(outcome).toEqual({ ok: false, failures: [{ uploadId: upload.uploadId, code: "FORBIDDEN" }] });
    }
  });

  it("matches org-owned uploads (no user) only with no user", async () => {
    const upload = newUpload({ ownerType: "form_signature", userId: null, bucket: "compliance", key: "incoming/org_test/x.png" });
    await stage(store, [upload]);

    const withUser = await store.commitConsume(commitRequest([upload], { owner: { orgId: upload.orgId, userId: "user_test" } }));
    const asOrg = await store.commitConsume(commitRequest([upload], { owner: { orgId: upload.orgId, userId: null } }));

    expect(withUser).toEqual({ ok: false, failures: [{ uploadId: upload.uploadId, code: "FORBIDDEN" }] });
    expect(asOrg).toEqual({ ok: true });
  });

  it("lets exactly one of many concurrent consumes of the same id win", async () => {
    const upload = newUpload();
    await stage(store, [upload]);

    const outcomes = await Promise.all(Array.from({ length: 12 }, () => store.commitConsume(commitRequest([upload]))));

    expect(outcomes.filter((o) => o.ok)).toHaveLength(1);
    expect(outcomes.filter((o) => !o.ok && "failures" in o && o.failures[0]?.code === "ALREADY_CONSUMED")).toHaveLength(11);
  });

  it("refuses a consume at or after the deadline with EXPIRED", async () => {
    const upload = newUpload();
    await stage(store, [upload], 1);
    await backends.wait(adapter, 1100);

    const outcome = await store.commitConsume(commitRequest([upload]));

    expect(outcome).toEqual({ ok: false, failures: [{ uploadId: upload.uploadId, code: "EXPIRED" }] });
  });

  it("reserves quota for the whole batch or not at all", async () => {
    const orgId = uniqueId("org");
    await stage(store, [newUpload({ orgId, size: 600_000 })]);

    const over = await store.stage({
      uploads: [newUpload({ orgId, size: 300_000 }), newUpload({ orgId, size: 200_000 })],
      lifetimeSeconds: 600,
      quota: { orgId, defaultQuotaBytes: DEFAULT_QUOTA },
    });

    expect(over).toEqual({ ok: false, reason: "quota_exceeded", limit: "org_quota", limitBytes: DEFAULT_QUOTA, remainingBytes: 400_000 });
    expect(await quotas.usage(orgId, DEFAULT_QUOTA)).toEqual({ used: 0, reserved: 600_000, quota: DEFAULT_QUOTA });
  });

  it("counts a sliding-window rate limit and says when to retry", async () => {
    const rateLimit = { subject: uniqueId("presign:user"), limit: 2, windowSeconds: 60 };
    const attempt = () => store.stage({ uploads: [newUpload()], lifetimeSeconds: 600, quota: { orgId: "org_rate", defaultQuotaBytes: 1e12 }, rateLimit });

    const outcomes = [await attempt(), await attempt(), await attempt()];

    expect(outcomes.map((o) => o.ok)).toEqual([true, true, false]);
    const limited = outcomes[2] as { reason: string; retryAfterSeconds: number };
    expect(limited.reason).toBe("rate_limited");
    expect(limited.retryAfterSeconds).toBeGreaterThanOrEqual(59);
    expect(limited.retryAfterSeconds).toBeLessThanOrEqual(60);
  });

  it("counts a request the quota refuses towards the rate limit", async () => {
    const rateLimit = { subject: uniqueId("presign:user"), limit: 2, windowSeconds: 60 };
    const orgId = uniqueId("org");
    const attempt = () =>
      store.stage({ uploads: [newUpload({ orgId, size: 5000 })], lifetimeSeconds: 600, quota: { orgId, defaultQuotaBytes: 1000 }, rateLimit });

    const outcomes = [await attempt(), await attempt(), await attempt()];

    expect(outcomes.map((o) => (o.ok ? "staged" : o.reason))).toEqual(["quota_exceeded", "quota_exceeded", "rate_limited"]);
    expect(await quotas.usage(orgId, 1000)).toEqual({ used: 0, reserved: 0, quota: 1000 });
  });

  it("counts a request the per-user cap refuses towards the rate limit", async () => {
    const rateLimit = { subject: uniqueId("presign:user"), limit: 1, windowSeconds: 60 };
    const orgId = uniqueId("org");
    const attempt = () =>
      store.stage({
        uploads: [newUpload({ orgId, size: 5000 })],
        lifetimeSeconds: 600,
        quota: { orgId, defaultQuotaBytes: 1e9, userInFlightBytes: 1000 },
        rateLimit,
      });

    const outcomes = [await attempt(), await attempt()];

    expect(outcomes.map((o) => (o.ok ? "staged" : o.reason))).toEqual(["quota_exceeded", "rate_limited"]);
  });

  it("slides the rate-limit window: a slot frees once the oldest request leaves it", async () => {
    const rateLimit = { subject: uniqueId("presign:user"), limit: 1, windowSeconds: 1 };
    const attempt = () => store.stage({ uploads: [newUpload()], lifetimeSeconds: 600, quota: { orgId: "org_rate", defaultQuotaBytes: 1e12 }, rateLimit });

    expect((await attempt()).ok).toBe(true);
    expect(await attempt()).toEqual({ ok: false, reason: "rate_limited", retryAfterSeconds: 1 });
    await backends.wait(adapter, 1050);
    expect((await attempt()).ok).toBe(true);
  });

  it("discards staged uploads and gives back their reservation, leaving consumed ones alone", async () => {
    const orgId = uniqueId("org");
    const [a, b] = [newUpload({ orgId, size: 10 }), newUpload({ orgId, size: 20 })];
    await stage(store, [a!, b!]);
    await store.commitConsume(commitRequest([b!]));

    expect(await store.discardStaged([a!.uploadId, b!.uploadId], orgId)).toEqual({ releasedBytes: 10 });

    const snapshot = await store.loadForConsume([a!.uploadId, b!.uploadId], uniqueId("r"));
    expect(snapshot.uploads.map((u) => u?.status ?? null)).toEqual([null, "consumed"]);
    expect(await quotas.usage(orgId, DEFAULT_QUOTA)).toEqual({ used: 20, reserved: 0, quota: DEFAULT_QUOTA });
  });

  it("claims overdue uploads with a lease, never consumed ones, and finalises only claimed ones", async () => {
    const orgId = uniqueId("org");
    const [expired, linked] = [newUpload({ orgId, size: 7 }), newUpload({ orgId, size: 9 })];
    await stage(store, [expired!, linked!], 1);
    await store.commitConsume(commitRequest([linked!]));
    await backends.wait(adapter, 1100);

    // Other tests' overdue uploads share the work list: look only at ours.
    let claim = await store.claimExpired({ limit: 1000, leaseSeconds: 60 });
    const ours = claim.claimed.filter((u) => u.orgId === orgId);
    expect(ours.map((u) => [u.uploadId, u.status])).toEqual([[expired!.uploadId, "claimed"]]);
    claim = await store.claimExpired({ limit: 1000, leaseSeconds: 60 });
    expect(claim.claimed.filter((u) => u.orgId === orgId)).toEqual([]); // leased

    expect(await store.commitConsume(commitRequest([expired!]))).toEqual({ ok: false, failures: [{ uploadId: expired!.uploadId, code: "EXPIRED" }] });
    expect(await store.finaliseSwept([expired!, linked!])).toEqual({ finalised: 1, releasedBytes: 7 });
    const snapshot = await store.loadForConsume([expired!.uploadId, linked!.uploadId], uniqueId("r"));
    expect(snapshot.uploads.map((u) => u?.status)).toEqual(["swept", "consumed"]);
    expect(await quotas.usage(orgId, DEFAULT_QUOTA)).toEqual({ used: 9, reserved: 0, quota: DEFAULT_QUOTA });
  });

  it("holds a batch for promotion: past the old deadline the sweeper does not claim it and the commit succeeds", async () => {
    const orgId = uniqueId("org");
    const uploads = [newUpload({ orgId, size: 5 }), newUpload({ orgId, size: 6 })];
    const { now } = await stage(store, uploads, 1);

    expect(
      await store.holdForPromotion(
        uploads.map((u) => u.uploadId),
        60,
      ),
    ).toEqual({ ok: true });
    await backends.wait(adapter, 1100);

    const held = (
      await store.loadForConsume(
        uploads.map((u) => u.uploadId),
        uniqueId("r"),
      )
    ).uploads;
    expect(held.map((u) => u?.deadline)).toEqual([expect.any(Number), expect.any(Number)]);
    expect(held[0]!.deadline).toBeGreaterThanOrEqual(now + 60_000);
    const claim = await store.claimExpired({ limit: 1000, leaseSeconds: 60 });
    expect(claim.claimed.filter((u) => u.orgId === orgId)).toEqual([]);
    expect(await store.commitConsume(commitRequest(uploads))).toEqual({ ok: true });
    expect(await quotas.usage(orgId, DEFAULT_QUOTA)).toEqual({ used: 11, reserved: 0, quota: DEFAULT_QUOTA });
  });

  it("never shortens a deadline when it holds", async () => {
    const upload = newUpload();
    const { now } = await stage(store, [upload], 600);

    expect(await store.holdForPromotion([upload.uploadId], 60)).toEqual({ ok: true });

    const [after] = (await store.loadForConsume([upload.uploadId], uniqueId("r"))).uploads;
    expect(after?.deadline).toBe(now + 600_000);
  });

  it("holds all or nothing: an expired, a consumed or an unknown id fails the batch and extends no deadline", async () => {
    const orgId = uniqueId("org");
    const [live, late, linked] = [newUpload({ orgId }), newUpload({ orgId }), newUpload({ orgId })];
    const { now } = await stage(store, [live!, linked!], 600);
    await stage(store, [late!], 1);
    await store.commitConsume(commitRequest([linked!]));
    await backends.wait(adapter, 1100);

    const outcome = await store.holdForPromotion([live!.uploadId, late!.uploadId, linked!.uploadId, "missing"], 3600);

    expect(outcome).toEqual({
      ok: false,
      failures: [
        { uploadId: late!.uploadId, code: "EXPIRED" },
        { uploadId: linked!.uploadId, code: "ALREADY_CONSUMED" },
        { uploadId: "missing", code: "NOT_FOUND" },
      ],
    });
    const [after] = (await store.loadForConsume([live!.uploadId], uniqueId("r"))).uploads;
    expect(after?.deadline).toBe(now + 600_000);
  });

  it("refuses to hold an upload the sweeper claimed with EXPIRED", async () => {
    const orgId = uniqueId("org");
    const upload = newUpload({ orgId });
    await stage(store, [upload], 1);
    await backends.wait(adapter, 1100);
    await store.claimExpired({ limit: 1000, leaseSeconds: 60 });

    expect(await store.holdForPromotion([upload.uploadId], 60)).toEqual({ ok: false, failures: [{ uploadId: upload.uploadId, code: "EXPIRED" }] });
  });

  describe("extending a staged upload's deadline (multipart part signing)", () => {
    it("moves the deadline to now + extend, and the sweeper does not claim it at the old deadline", async () => {
      const orgId = uniqueId("org");
      const upload = newUpload({ orgId });
      await stage(store, [upload], 1);

      const outcome = await store.extendStaging(upload.uploadId, { extendSeconds: 60, maxLifetimeSeconds: 3600 });
      await backends.wait(adapter, 1100);

      const [after] = (await store.loadForConsume([upload.uploadId], uniqueId("r"))).uploads;
      expect(outcome).toEqual({ ok: true, deadline: after!.deadline });
      expect(after!.deadline).toBeGreaterThanOrEqual(after!.createdAt + 60_000);
      const claim = await store.claimExpired({ limit: 1000, leaseSeconds: 60 });
      expect(claim.claimed.filter((u) => u.orgId === orgId)).toEqual([]);
    });

    it("never moves the deadline past createdAt + the maximum lifetime, nor back", async () => {
      const [capped, later] = [newUpload(), newUpload()];
      const { now } = await stage(store, [capped!], 10);
      await stage(store, [later!], 600);

      expect(await store.extendStaging(capped!.uploadId, { extendSeconds: 3600, maxLifetimeSeconds: 120 })).toEqual({
        ok: true,
        deadline: now + 120_000,
      });
      const [before] = (await store.loadForConsume([later!.uploadId], uniqueId("r"))).uploads;
      expect(await store.extendStaging(later!.uploadId, { extendSeconds: 60, maxLifetimeSeconds: 3600 })).toEqual({
        ok: true,
        deadline: before!.deadline,
      });
    });

    it("refuses unknown, consumed and expired uploads", async () => {
      const orgId = uniqueId("org");
      const [linked, late] = [newUpload({ orgId }), newUpload({ orgId })];
      await stage(store, [linked!]);
      await stage(store, [late!], 1);
      await store.commitConsume(commitRequest([linked!]));
      await backends.wait(adapter, 1100);
      const request = { extendSeconds: 60, maxLifetimeSeconds: 3600 };

      expect(await store.extendStaging("missing", request)).toEqual({ ok: false, code: "NOT_FOUND" });
      expect(await store.extendStaging(linked!.uploadId, request)).toEqual({ ok: false, code: "ALREADY_CONSUMED" });
      expect(await store.extendStaging(late!.uploadId, request)).toEqual({ ok: false, code: "EXPIRED" });
    });
  });

  it("keeps a multipart upload's storage upload id and part plan on the record", async () => {
    const upload = { ...newUpload({ size: 12_000 }), multipart: { storageUploadId: "abc~/+=", partSize: 5000, partCount: 3 } };
    await stage(store, [upload]);

    const [after] = (await store.loadForConsume([upload.uploadId], uniqueId("r"))).uploads;

    expect(after?.multipart).toEqual(upload.multipart);
  });

  it("attaches a multipart plan (storage's upload id) to uploads still staged without one, and to no other", async () => {
    const orgId = uniqueId("org");
    const [staged, discarded] = [newUpload({ orgId, size: 12_000 }), newUpload({ orgId, size: 12_000 })];
    await stage(store, [staged!, discarded!]);
    await store.discardStaged([discarded!.uploadId], orgId);
    const multipart = { storageUploadId: "abc~/+=", partSize: 5000, partCount: 3 };

    const outcome = await store.attachMultipart([
      { uploadId: staged!.uploadId, multipart },
      { uploadId: discarded!.uploadId, multipart },
      { uploadId: uniqueId("none"), multipart },
    ]);

    const again = await store.attachMultipart([{ uploadId: staged!.uploadId, multipart: { ...multipart, storageUploadId: "other" } }]);

    expect(outcome).toEqual({ attached: [staged!.uploadId] });
    expect(again).toEqual({ attached: [] });
    const [after] = await store.uploadRecords([staged!.uploadId]);
    expect(after).toMatchObject({ status: "staged", multipart });
  });

  describe("the URL watch: keys whose URLs outlive their records", () => {
    /** Other tests' entries share the watch: look only at ours. */
    const claimOurs = async (keys: string[], leaseSeconds = 60) =>
      (await store.claimWatchedKeys({ limit: 1000, leaseSeconds })).claimed.filter((w) => keys.includes(w.key));

    it("keeps a discarded upload's key (and multipart upload) watched until its deadline, leased once claimed, unlisted once forgotten", async () => {
      const orgId = uniqueId("org");
      const single = newUpload({ orgId, size: 10 });
      const parts = { ...newUpload({ orgId, size: 20 }), multipart: { storageUploadId: "abc~/+=", partSize: 20, partCount: 1 } };
      await stage(store, [single, parts], 1);
      await store.discardStaged([single.uploadId, parts.uploadId], orgId);
      const keys = [single.key, parts.key];

      expect(await claimOurs(keys)).toEqual([]);
      await backends.wait(adapter, 1100);
      const claimed = await claimOurs(keys, 1);
      expect(claimed.map(({ watchId: _, ...w }) => w).sort((a, b) => a.key.localeCompare(b.key))).toEqual(
        [
          { bucket: single.bucket, key: single.key },
          { bucket: parts.bucket, key: parts.key, storageUploadId: "abc~/+=" },
        ].sort((a, b) => a.key.localeCompare(b.key)),
      );
      expect(await claimOurs(keys)).toEqual([]); // leased
      await backends.wait(adapter, 1100);
      const again = await claimOurs(keys); // the lease ran out: a crashed run's claim comes back

      expect(again.map((w) => w.key).sort()).toEqual([...keys].sort());
      expect(await store.forgetWatchedKeys(again.map((w) => w.watchId))).toEqual({ forgotten: 2 });
      expect(await store.forgetWatchedKeys(again.map((w) => w.watchId))).toEqual({ forgotten: 0 });
      expect(await quotas.usage(orgId, DEFAULT_QUOTA)).toEqual({ used: 0, reserved: 0, quota: DEFAULT_QUOTA });
    });

    it("unlists a consumed key still linked at its deadline, but claims one released before then and a promoted upload's staged key", async () => {
      const orgId = uniqueId("org");
      const [kept, released] = [newUpload({ orgId, size: 10 }), newUpload({ orgId, size: 20 })];
      const promoted = newUpload({ orgId, userId: null, ownerType: "form_signature", bucket: "compliance", key: `incoming/${orgId}/x.pdf`, size: 30 });
      await stage(store, [kept!, released!], 1);
      await stage(store, [promoted], 1);
      await store.commitConsume(commitRequest([kept!, released!]));
      await store.commitConsume(commitRequest([promoted], { finalObjects: [{ bucket: "compliance", key: `records/${orgId}/x.pdf` }] }));
      await links.unlinkObjects(orgId, [{ bucket: released!.bucket, key: released!.key }]);
      const keys = [kept!.key, released!.key, promoted.key];
      await backends.wait(adapter, 1100);

      const claimed = await claimOurs(keys);

      expect(claimed.map((w) => w.key).sort()).toEqual([released!.key, promoted.key].sort());
      expect(await quotas.usage(orgId, DEFAULT_QUOTA)).toEqual({ used: 10 + 30, reserved: 0, quota: DEFAULT_QUOTA });
    });
  });

  describe("presign idempotency: the reply stored by the stage step", () => {
    const stageWithReplay = (uploads: NewUpload[], key: string, response = "first", rateLimit?: RateLimit) =>
      store.stage({
        uploads,
        lifetimeSeconds: 600,
        quota: { orgId: uploads[0]!.orgId, defaultQuotaBytes: DEFAULT_QUOTA },
        replay: { key, stored: { fingerprint: "fp", response }, ttlSeconds: 60 },
        ...(rateLimit ? { rateLimit } : {}),
      });

    it("a stage under a used key answers the stored reply and stages, reserves and counts nothing", async () => {
      const orgId = uniqueId("org");
      const key = uniqueId("presign");
      const rateLimit = { subject: uniqueId("presign:user"), limit: 1, windowSeconds: 60 };
      const [first, retry] = [newUpload({ orgId, size: 100 }), newUpload({ orgId, size: 100 })];

      expect(await stageWithReplay([first!], key, "first", rateLimit)).toEqual({ ok: true, now: expect.any(Number) });
      const replayed = await stageWithReplay([retry!], key, "second", rateLimit);

      expect(replayed).toEqual({ ok: true, now: expect.any(Number), replayed: { fingerprint: "fp", response: "first" } });
      expect((await store.loadForConsume([first!.uploadId, retry!.uploadId], uniqueId("r"))).uploads.map((u) => u?.status ?? null)).toEqual(["staged", null]);
      expect(await quotas.usage(orgId, DEFAULT_QUOTA)).toEqual({ used: 0, reserved: 100, quota: DEFAULT_QUOTA });
    });

    it("a refused stage stores no reply: the retry is judged afresh", async () => {
      const orgId = uniqueId("org");
      const key = uniqueId("presign");
      await quotas.setQuota(orgId, 150);

      expect(await stageWithReplay([newUpload({ orgId, size: 200 })], key)).toMatchObject({ ok: false, reason: "quota_exceeded" });
      expect(await stageWithReplay([newUpload({ orgId, size: 100 })], key)).toEqual({ ok: true, now: expect.any(Number) });
    });

    it("of concurrent stages under one key exactly one stages; the others answer its reply", async () => {
      const orgId = uniqueId("org");
      const key = uniqueId("presign");

      const outcomes = await Promise.all(Array.from({ length: 8 }, (_, i) => stageWithReplay([newUpload({ orgId, size: 10 })], key, `reply-${i}`)));

      const staged = outcomes.filter((o) => o.ok && !o.replayed);
      expect(staged).toHaveLength(1);
      const winner = outcomes.indexOf(staged[0]!);
      for (const o of outcomes.filter((o) => o !== staged[0])) expect(o).toMatchObject({ ok: true, replayed: { response: `reply-${winner}` } });
      expect(await quotas.usage(orgId, DEFAULT_QUOTA)).toEqual({ used: 0, reserved: 10, quota: DEFAULT_QUOTA });
    });
  });

  describe("early release: uploads whose PUT URL expired with no object", () => {
    const stageWithUrl = (uploads: NewUpload[], urlLifetimeSeconds: number, lifetimeSeconds = 600) =>
      store.stage({
        uploads,
        lifetimeSeconds,
        urlLifetimeSeconds,
        quota: { orgId: uploads[0]!.orgId, defaultQuotaBytes: DEFAULT_QUOTA, userInFlightBytes: 1e9 },
      });
    const ours = (claim: { claimed: { orgId: string; uploadId: string }[] }, orgId: string) =>
      claim.claimed.filter((u) => u.orgId === orgId).map((u) => u.uploadId);

    it("leases staged uploads once their URL expired (after the settle time), and never uploads still within it", async () => {
      const orgId = uniqueId("org");
      const [expired, fresh, linked] = [newUpload({ orgId }), newUpload({ orgId }), newUpload({ orgId })];
      await stageWithUrl([expired!, linked!], 1);
      await stageWithUrl([fresh!], 600);
      await store.commitConsume(commitRequest([linked!]));
      await backends.wait(adapter, 1100);

      expect(ours(await store.claimUrlExpired({ limit: 1000, leaseSeconds: 60, settleSeconds: 5 }), orgId)).toEqual([]);
      const claim = await store.claimUrlExpired({ limit: 1000, leaseSeconds: 60, settleSeconds: 0 });
      expect(claim.claimed.filter((u) => u.orgId === orgId)).toEqual([expect.objectContaining({ uploadId: expired!.uploadId, status: "staged" })]);
      expect(ours(await store.claimUrlExpired({ limit: 1000, leaseSeconds: 60, settleSeconds: 0 }), orgId)).toEqual([]); // leased
    });

    it("gives back an upload's reservation (org and user) when storage had no object: consume is EXPIRED, the deadline sweep gives nothing twice", async () => {
      const orgId = uniqueId("org");
      const [missing, present] = [newUpload({ orgId, size: 300 }), newUpload({ orgId, size: 500 })];
      await stageWithUrl([missing!, present!], 1, 2);
      await backends.wait(adapter, 1100);
      await store.claimUrlExpired({ limit: 1000, leaseSeconds: 1, settleSeconds: 0 });

      const settled = await store.settleUrlExpired({ missing: [missing!], present: [present!.uploadId] });

      expect(settled).toEqual({ abandoned: 1, releasedBytes: 300 });
      expect(await quotas.usage(orgId, DEFAULT_QUOTA)).toEqual({ used: 0, reserved: 500, quota: DEFAULT_QUOTA });
      expect(await quotas.inFlightByUser(orgId)).toEqual({ user_test: 500 });
      const snapshot = await store.loadForConsume([missing!.uploadId, present!.uploadId], uniqueId("r"));
      expect(snapshot.uploads.map((u) => [u?.status, typeof u?.abandonedAt])).toEqual([
        ["abandoned", "number"],
        ["staged", "undefined"],
      ]);
      expect(await store.commitConsume(commitRequest([missing!]))).toEqual({ ok: false, failures: [{ uploadId: missing!.uploadId, code: "EXPIRED" }] });
      expect(await store.settleUrlExpired({ missing: [missing!], present: [] })).toEqual({ abandoned: 0, releasedBytes: 0 }); // once only
      await backends.wait(adapter, 1100); // both leases over: neither comes back for a check
      expect(ours(await store.claimUrlExpired({ limit: 1000, leaseSeconds: 1, settleSeconds: 0 }), orgId)).toEqual([]);

      // At the deadline the abandoned upload is still swept (a late object is deleted), its bytes not given twice.
      const claim = await store.claimExpired({ limit: 1000, leaseSeconds: 60 });
      expect(ours(claim, orgId).sort()).toEqual([missing!.uploadId, present!.uploadId].sort());
      expect(await store.finaliseSwept([missing!, present!])).toEqual({ finalised: 2, releasedBytes: 500 });
      expect(await quotas.usage(orgId, DEFAULT_QUOTA)).toEqual({ used: 0, reserved: 0, quota: DEFAULT_QUOTA });
      expect(await quotas.inFlightByUser(orgId)).toEqual({});
    });

    it("never abandons an upload consumed between the storage check and the settle", async () => {
      const orgId = uniqueId("org");
      const upload = newUpload({ orgId, size: 40 });
      await stageWithUrl([upload], 1);
      await backends.wait(adapter, 1100);
      await store.claimUrlExpired({ limit: 1000, leaseSeconds: 60, settleSeconds: 0 });
      await store.commitConsume(commitRequest([upload]));

      expect(await store.settleUrlExpired({ missing: [upload], present: [] })).toEqual({ abandoned: 0, releasedBytes: 0 });
      expect(await quotas.usage(orgId, DEFAULT_QUOTA)).toEqual({ used: 40, reserved: 0, quota: DEFAULT_QUOTA });
    });
  });

  describe("per-user cap on bytes reserved in flight", () => {
    const CAP = 5000;
    const stageCapped = (uploads: NewUpload[], lifetimeSeconds = 600) =>
      store.stage({ uploads, lifetimeSeconds, quota: { orgId: uploads[0]!.orgId, defaultQuotaBytes: DEFAULT_QUOTA, userInFlightBytes: CAP } });

    it("refuses a user past the cap with limit user_in_flight, while other members and org-owned uploads still stage", async () => {
      const orgId = uniqueId("org");
      const [hoarder, admin] = [uniqueId("user"), uniqueId("user")];
      expect((await stageCapped([newUpload({ orgId, userId: hoarder, size: 3000 }), newUpload({ orgId, userId: hoarder, size: 1500 })])).ok).toBe(true);

      const over = await stageCapped([newUpload({ orgId, userId: hoarder, size: 501 })]);
      const logo = await stageCapped([newUpload({ orgId, userId: admin, size: 2000 })]);
      const signature = await stageCapped([
        newUpload({ orgId, userId: null, ownerType: "form_signature", bucket: "compliance", key: `incoming/${orgId}/x.png`, size: 6000 }),
      ]);

      expect(over).toEqual({ ok: false, reason: "quota_exceeded", limit: "user_in_flight", limitBytes: CAP, remainingBytes: 500 });
      expect([logo.ok, signature.ok]).toEqual([true, true]);
      expect(await quotas.inFlightByUser(orgId)).toEqual({ [hoarder]: 4500, [admin]: 2000 });
      expect(await quotas.usage(orgId, DEFAULT_QUOTA)).toEqual({ used: 0, reserved: 12_500, quota: DEFAULT_QUOTA });
    });

    it("reports the org quota as the limit when the organisation is full", async () => {
      const orgId = uniqueId("org");
      await quotas.setQuota(orgId, 1000);

      const over = await stageCapped([newUpload({ orgId, size: 1001 })]);

      expect(over).toEqual({ ok: false, reason: "quota_exceeded", limit: "org_quota", limitBytes: 1000, remainingBytes: 1000 });
      expect(await quotas.inFlightByUser(orgId)).toEqual({});
    });

    it("gives a user's in-flight bytes back exactly when the org's reservation goes: consume, discard, sweep", async () => {
      const orgId = uniqueId("org");
      const userId = uniqueId("user");
      const [linked, rejected, expired, fresh] = [100, 200, 400, 800].map((size) => newUpload({ orgId, userId, size }));
      await stageCapped([linked!, rejected!, fresh!]);
      await stageCapped([expired!], 1);

      await store.commitConsume(commitRequest([linked!]));
      await store.discardStaged([rejected!.uploadId], orgId);
      await backends.wait(adapter, 1100);
      const claim = await store.claimExpired({ limit: 1000, leaseSeconds: 60 });
      await store.finaliseSwept(claim.claimed.filter((u) => u.orgId === orgId));

      expect(await quotas.inFlightByUser(orgId)).toEqual({ [userId]: 800 });
      expect(await quotas.usage(orgId, DEFAULT_QUOTA)).toEqual({ used: 100, reserved: 800, quota: DEFAULT_QUOTA });
      await store.commitConsume(commitRequest([fresh!]));
      expect(await quotas.inFlightByUser(orgId)).toEqual({});
      expect((await stageCapped([newUpload({ orgId, userId, size: CAP })])).ok).toBe(true);
    });

    it("keeps the sum of per-user in-flight bytes equal to the org's reservation under concurrent stage, consume and discard", async () => {
      const orgId = uniqueId("org");
      const users = Array.from({ length: 4 }, () => uniqueId("user"));
      const staged: NewUpload[] = [];
      // 4 users × 12 concurrent stages of 1–3 files against a cap of 5000: some are refused, none overshoots.
      await Promise.all(
        users.flatMap((userId) =>
          Array.from({ length: 12 }, async (_, i) => {
            const uploads = Array.from({ length: 1 + (i % 3) }, (_, j) => newUpload({ orgId, userId, size: 150 + 37 * i + j }));
            if ((await stageCapped(uploads)).ok) staged.push(...uploads);
          }),
        ),
      );
      for (const [userId, bytes] of Object.entries(await quotas.inFlightByUser(orgId))) {
        expect({ userId, capped: bytes <= CAP }).toEqual({ userId, capped: true });
      }
      await Promise.all(
        staged.map((upload, i) =>
          i % 3 === 0 ? store.commitConsume(commitRequest([upload])) : i % 3 === 1 ? store.discardStaged([upload.uploadId], orgId) : Promise.resolve(),
        ),
      );

      const inFlight = await quotas.inFlightByUser(orgId);
      const { reserved, used } = await quotas.usage(orgId, DEFAULT_QUOTA);
      const sum = (list: NewUpload[]) => list.reduce((total, u) => total + u.size, 0);
      expect(Object.values(inFlight).reduce((a, b) => a + b, 0)).toBe(reserved);
      expect(reserved).toBe(sum(staged.filter((_, i) => i % 3 === 2)));
      expect(used).toBe(sum(staged.filter((_, i) => i % 3 === 0)));
      for (const userId of users) {
        expect(inFlight[userId] ?? 0).toBe(sum(staged.filter((u, i) => i % 3 === 2 && u.userId === userId)));
      }
    });
  });
});
