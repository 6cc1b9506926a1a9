/**
 * The local default store's journal: a store reopened from its directory holds exactly what it
 * held (after a clean close, after a write cut short, after compactions racing writes), and the
 * bytes a step appends do not depend on how much the store holds.
 */
import { appendFile, mkdtemp, readdir, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MemoryStore } from "@fitkit/core/adapters/memory/memory-store";
import type { Clock } from "@fitkit/core/time/clock";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { journalFile, MEMORY_STORE_FILE, persistMemoryStore } from "./memory-persistence.js";

class TestClock implements Clock {
  constructor(public time = 1_700_000_000_000) {}
  now(): number {
    return this.time;
  }
}

const upload = (uploadId: string, orgId = "org_1", userId = "user_1") => ({
  uploadId,
  ownerType: "progress_photo" as const,
  orgId,
  userId,
  bucket: "media",
  key: `${orgId}/progress_photo/${userId}/${uploadId}.jpg`,
  contentType: "image/jpeg",
  size: 100,
});

/** One upload of its own user (`user_<uploadId>`), with the org's rate limit and quotas. */
const stageOne = (store: MemoryStore, uploadId: string) =>
  store.stage({
    uploads: [upload(uploadId, "org_1", `user_${uploadId}`)],
    rateLimit: { subject: `presign:user_${uploadId}`, limit: 60, windowSeconds: 60 },
    lifetimeSeconds: 600,
    urlLifetimeSeconds: 300,
    quota: { orgId: "org_1", defaultQuotaBytes: 1e12, userInFlightBytes: 1e12 },
    replay: { key: `presign_${uploadId}`, stored: { fingerprint: uploadId, response: `reply-${uploadId}` }, ttlSeconds: 600 },
  });

/** Every kind of change the store makes: staging, consume, promotion holds, sweeps, tokens, quotas, media, publishing. */
async function workload(store: MemoryStore, clock: TestClock): Promise<void> {
  const rateLimit = { subject: "presign:user_1", limit: 50, windowSeconds: 60 };
  await store.setQuota("org_1", 100_000);
  await store.stage({
    uploads: ["a", "b", "c", "d", "e", "f"].map((id) => upload(id)),
    lifetimeSeconds: 600,
    urlLifetimeSeconds: 300,
    quota: { orgId: "org_1", defaultQuotaBytes: 1000, userInFlightBytes: 5000 },
    rateLimit,
    replay: { key: "presign_1", stored: { fingerprint: "p", response: "first" }, ttlSeconds: 600 },
  });
  const job = { bucket: "media", key: upload("a").key, contentType: "image/jpeg", orgId: "org_1" };
  await store.commitConsume({
    uploadIds: ["a", "b"],
    owner: { orgId: "org_1", userId: "user_1" },
    ownerType: "progress_photo",
    replayKey: "replay_1",
    stored: { fingerprint: "f", response: '{"uploads":[]}' },
    replayTtlSeconds: 3600,
    finalObjects: [
      { bucket: "media", key: upload("a").key },
      { bucket: "media", key: upload("b").key },
    ],
    mediaJobs: [job, null],
  });
  await store.holdForPromotion(["c"], 900);
  await store.extendStaging("d", { extendSeconds: 1200, maxLifetimeSeconds: 3600 });
  await store.discardStaged(["f"], "org_1");
  clock.time += 1_000_000;
  await store.claimMediaJobs({ limit: 10, leaseSeconds: 30 });
  await store.recordMedia({ ...job }, {
    status: "ready",
    width: 10,
    height: 10,
    placeholder: "x",
    variants: { display: { key: `${job.key}.display.webp`, contentType: "image/webp", size: 7, width: 10, height: 10 } },
  } as never);
  await store.ackMediaJobs([job]);
  await store.scheduleMediaJobs([{ ...job, key: upload("b").key }]);
  await store.recordPublished(
    { bucket: "media", key: upload("b").key, orgId: "org_1" },
    { key: upload("b").key, ownerType: "progress_photo", width: 1, height: 1, placeholder: "p", renditions: [], defaultKey: "k" },
  );
  const urls = await store.claimUrlExpired({ limit: 10, leaseSeconds: 60, settleSeconds: 0 });
  await store.settleUrlExpired({ missing: urls.claimed.slice(0, 1), present: urls.claimed.slice(1).map((u) => u.uploadId) });
  const expired = await store.claimExpired({ limit: 10, leaseSeconds: 60 });
  await store.finaliseSwept(expired.claimed);
  await store.putSignatureToken({ tokenHash: "t1", orgId: "org_1", formId: "form", submissionId: "sub" }, 600);
  await store.checkSignatureToken("t1", { subject: "sig:t1", limit: 5, windowSeconds: 60 });
  await store.holdPendingUpload("t1", { uploadId: "g", key: "k", size: 1 } as never);
  // biome-ignore lint/correctness/useHookAtTopLevel: a store method named "use…", not a React hook
  await store.useSignatureToken("t1", "g");
  await store.setUsed("org_1", 4321);
  await store.unlinkObjects("org_1", [{ bucket: "media", key: upload("a").key }]);
  await store.removePublished("org_1", upload("b").key);
}

describe("the local default store's journal", () => {
  let directory: string;
  let file: string;
  beforeEach(async () => {
    directory = await mkdtemp(join(tmpdir(), "fitkit-journal-"));
    file = join(directory, MEMORY_STORE_FILE);
  });
  afterEach(async () => {
    await rm(directory, { recursive: true, force: true });
  });

  it("a store reopened from its directory holds exactly what it held, with or without a clean close", async () => {
    const clock = new TestClock();
    const store = new MemoryStore(clock);
    const persistence = await persistMemoryStore(store, file);
    await workload(store, clock);

    // No flush, no close: the writes are on their way to disk before each step's caller resumes.
    const killed = new MemoryStore(clock);
    await persistMemoryStore(killed, file);
    expect(killed.snapshot()).toEqual(store.snapshot());
    expect(killed.snapshot().uploads.length).toBeGreaterThan(0);

    await persistence.close();
  });

  it("every map the store holds is journaled: a change to any of them reaches the sink", async () => {
    const store = new MemoryStore(new TestClock());
    const journaled = new Set<string>();
    store.journalTo((changes) => {
      for (const [name] of changes) journaled.add(name);
    });
    const maps = Object.entries(store).filter((entry): entry is [string, Map<string, unknown>] => entry[1] instanceof Map);
    const snapshotted = Object.keys(store.snapshot()).filter((name) => name !== "version");

    for (const [, map] of maps) map.set("probe", 1);
    await Promise.resolve();

    expect(maps.map(([name]) => name).sort()).toEqual(snapshotted.sort());
    expect([...journaled].sort()).toEqual(maps.map(([name]) => name).sort());
  });

  it("reads alone and a second close write nothing more; a snapshot from before journals existed still loads", async () => {
    const clock = new TestClock();
    const seeded = new MemoryStore(clock);
    await workload(seeded, clock);
    // The format the stack wrote before the journal: the bare snapshot, no `journal` field.
    await appendFile(file, JSON.stringify(seeded.snapshot()));

    const store = new MemoryStore(clock);
    const persistence = await persistMemoryStore(store, file);
    await store.linkedObjects([{ bucket: "media", key: upload("b").key }]);
    await store.mediaStates([{ bucket: "media", key: upload("b").key }]);
    await store.publishedItems("org_1");
    await persistence.close();

    expect(store.snapshot()).toEqual(seeded.snapshot());
    expect(persistence.journalBytesWritten()).toBe(0);
  });

  it("a record cut short at the end of the journal is dropped and every record before it kept; damage elsewhere stops the start", async () => {
    const clock = new TestClock();
    const store = new MemoryStore(clock);
    await persistMemoryStore(store, file, { compactAtBytes: 1e9 });
    await workload(store, clock);
    const [journal] = (await readdir(directory)).filter((name) => name.endsWith(".journal"));
    await appendFile(join(directory, journal!), '[["uploads","zz",{"uploadId":"zz","ownerT');

    const reopened = new MemoryStore(clock);
    const persistence = await persistMemoryStore(reopened, file);
    expect(reopened.snapshot()).toEqual(store.snapshot());
    await stageOne(reopened, "after");
    await persistence.close();
    const again = new MemoryStore(clock);
    await (await persistMemoryStore(again, file)).close();
    expect(again.snapshot()).toEqual(reopened.snapshot());

    // A damaged record followed by others is not a torn write: the stack refuses to guess.
    const next = (await readdir(directory)).filter((name) => name.endsWith(".journal"));
    await appendFile(join(directory, next[0]!), 'not json\n[["deadlines","x",1]]\n');
    await expect(persistMemoryStore(new MemoryStore(clock), file)).rejects.toThrow(/line 1 is not a journal record/);
  });

  it("compactions racing a stream of writes lose nothing, and leave one journal holding only what came after the last", async () => {
    const clock = new TestClock();
    const store = new MemoryStore(clock);
    const persistence = await persistMemoryStore(store, file, { compactAtBytes: 1e9 });
    let staged = 0;
    const writesPerRound: number[] = [];
    for (let round = 0; round < 4; round++) {
      let done = false;
      const compaction = persistence.compact().then(() => {
        done = true;
      });
      const before = staged;
      // Writes keep coming while the compaction copies, writes and syncs the snapshot.
      do {
        await stageOne(store, `u${staged++}`);
        await new Promise((resolve) => setImmediate(resolve));
      } while (!done);
      await compaction;
      writesPerRound.push(staged - before);
    }
    await persistence.flush();
    const journals = (await readdir(directory)).filter((name) => name.endsWith(".journal"));
    const records = (await readFile(join(directory, journals[0]!), "utf8")).split("\n").filter(Boolean);

    // Reopened as after a crash (no close).
    const crashed = new MemoryStore(clock);
    await persistMemoryStore(crashed, file, { compactAtBytes: 1e9 });
    await persistence.close();

    expect(crashed.snapshot()).toEqual(store.snapshot());
    expect(crashed.snapshot().uploads).toHaveLength(staged);
    expect(writesPerRound.every((n) => n >= 1)).toBe(true);
    expect(journals).toHaveLength(1);
    // The last compaction's snapshot holds every write that began before it; the journal only what followed.
    expect(records.length).toBeLessThanOrEqual(writesPerRound.at(-1)!);
    expect(records.length).toBeLessThan(staged);
  });

  it("compacts by itself once the journal outgrows the snapshot", async () => {
    const clock = new TestClock();
    const store = new MemoryStore(clock);
    const persistence = await persistMemoryStore(store, file, { compactAtBytes: 10_000 });
    for (let i = 0; i < 200; i++) await stageOne(store, `u${i}`);
    await persistence.flush();
    const journals = (await readdir(directory)).filter((name) => name.endsWith(".journal"));
    const journalBytes = (await stat(join(directory, journals[0]!))).size;
    await persistence.close();

    expect(journals).toHaveLength(1);
    expect(journals[0]).not.toBe("memory-store.1.journal");
    expect(journalBytes).toBeLessThan(persistence.journalBytesWritten());
  });

  it("a step appends the same bytes whether the store (and the organisation's users with uploads in flight) holds a hundred uploads or ten thousand", async () => {
    const clock = new TestClock();
    const store = new MemoryStore(clock);
    const persistence = await persistMemoryStore(store, file, { compactAtBytes: 1e9 });
    const bytesOfOneStage = async (uploadId: string): Promise<number> => {
      const before = persistence.journalBytesWritten();
      await stageOne(store, uploadId);
      return persistence.journalBytesWritten() - before;
    };
    for (let i = 0; i < 100; i++) await stageOne(store, `u${String(i).padStart(5, "0")}`);
    const small = await bytesOfOneStage("x0000a");
    const snapshotSmall = JSON.stringify(store.snapshot()).length;
    for (let i = 100; i < 10_000; i++) await stageOne(store, `u${String(i).padStart(5, "0")}`);
    const large = await bytesOfOneStage("x0000b");
    const snapshotLarge = JSON.stringify(store.snapshot()).length;
    await persistence.close();

    // Equal but for the digits the org's `reserved` counter gained (a hundred uploads' bytes → ten thousand's).
    expect(large - small).toBeLessThanOrEqual(4);
    expect(large).toBeGreaterThanOrEqual(small);
    expect(small).toBeLessThan(2000);
    // What the old whole-file rewrite would have written per request grew a hundredfold.
    expect(snapshotLarge).toBeGreaterThan(50 * snapshotSmall);
    expect(JSON.parse(await readFile(journalFile(file, 1), "utf8").then((text) => text.split("\n").at(-2)!))).toEqual(
      expect.arrayContaining([["deadlines", "x0000b", clock.time + 600_000]]),
    );
  });
});
