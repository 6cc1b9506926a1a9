/**
 * The in-memory twin of RedisStore — staging, signature tokens, quotas, linked objects, media
 * variants and published media (the same six ports) in one process: the embedded default for the
 * local stack, and the fake behind core unit tests. It keeps the same semantics as the Redis
 * scripts (the contract suites run it too); JavaScript's single thread makes each method atomic
 * as long as it never awaits mid-step.
 */
import {
  encodeMediaJob,
  isSupersededOutcome,
  MEDIA_HANDOFF_GRACE_SECONDS,
  type MediaJob,
  type MediaOutcome,
  type MediaState,
  type MediaVariants,
} from "../../media/media-variants.js";
import type { RateLimit } from "../../policies/rate-limit.js";
import { type PublishedItem, type PublishedMedia, publishedBytesOf } from "../../publishing/published-media.js";
import type { LinkedObject, LinkedObjects, ObjectRef } from "../../quotas/linked-objects.js";
import type { QuotaLedger, QuotaUsage } from "../../quotas/quota-ledger.js";
import type { PendingSignatureUpload, SignatureToken, SignatureTokenCheck, SignatureTokenState, SignatureTokens } from "../../signatures/signature-tokens.js";
import type {
  ClaimOutcome,
  CommitConsumeOutcome,
  CommitConsumeRequest,
  ConsumeFailureCode,
  ConsumeSnapshot,
  ExtendOutcome,
  HoldOutcome,
  StageOutcome,
  StageRequest,
  StagingStore,
  StoredConsume,
  StoredReply,
  WatchClaimOutcome,
} from "../../staging/staging-store.js";
import { type Clock, systemClock } from "../../time/clock.js";
import type { MultipartPlan, StagedUpload } from "../../uploads/upload.js";

export interface Expiring<T> {
  value: T;
  expiresAt: number;
}

export interface QuotaCounters {
  used: number;
  reserved: number;
  quota?: number;
  /** userId → that user's share of `reserved`; a user at zero is removed. */
  inFlight: Map<string, number>;
  /**
   * Erasures in progress (the `erasing:` fields of the Redis quota hash), one entry per erasure:
   * `<userId> <erasureId>`, or `* <erasureId>` for the whole org (MemoryErasures adds and removes them).
   */
  erasing?: string[];
}

const clone = <T>(value: T): T => structuredClone(value);

const linkId = (o: ObjectRef): string => `${o.bucket}\u0000${o.key}`;

const publishedId = (orgId: string, key: string): string => `${orgId}\u0000${key}`;

const variantBytesOf = (outcome: MediaOutcome): number =>
  outcome.status === "ready" ? Object.values(outcome.variants).reduce((sum, v) => sum + v.size, 0) : 0;

/**
 * Everything a MemoryStore holds, as plain JSON-safe data: the local stack writes it to disk so its
 * default store survives a restart like its embedded storage does. `version` changes with the shape.
 */
export interface MemoryStoreSnapshot {
  version: 1;
  uploads: [string, StagedUpload][];
  deadlines: [string, number][];
  urlExpiries: [string, number][];
  /** `inFlight` as entries: a Map does not survive JSON. */
  quotas: [string, Omit<QuotaCounters, "inFlight"> & { inFlight: [string, number][] }][];
  linked: [string, LinkedObject][];
  replays: [string, Expiring<StoredConsume>][];
  presignReplays: [string, Expiring<StoredReply>][];
  media: [string, MediaOutcome][];
  mediaOutbox: [string, number][];
  rateWindows: [string, number[]][];
  tokens: [string, SignatureToken][];
  /** Absent in snapshots written before publishing existed. */
  published?: [string, PublishedItem][];
  /** Absent in snapshots written before the URL watch existed. */
  urlWatch?: [string, number][];
}

/** A URL-watch entry, as the Redis scripts keep it: `[bucket, key, storageUploadId, linked ('1' = skip while linked)]`. */
const watchEntry = (upload: StagedUpload, linked: boolean): string =>
  JSON.stringify([upload.bucket, upload.key, upload.multipart?.storageUploadId ?? "", linked ? "1" : ""]);

/** The name of one of a MemoryStore's maps, as its snapshot calls it. */
export type MemoryStoreMapName = Exclude<keyof MemoryStoreSnapshot, "version">;

/**
 * One journal entry: `[map, key, value]` sets the key to a JSON-safe value, `[map, key]` deletes it.
 * A user's in-flight bytes are entries of their own (`inFlight`, key `orgId \0 userId`), so a change
 * to one user's share does not write the whole organisation's.
 */
export type MemoryStoreChange = [map: MemoryStoreMapName | "inFlight", key: string, value?: unknown];

/** Quota counters without their per-user map (journaled entry by entry). */
const toJournal = (name: MemoryStoreMapName, value: unknown): unknown => {
  if (name !== "quotas") return value;
  const { inFlight: _, ...counters } = value as QuotaCounters;
  return counters;
};

/**
 * A Map that, once tracked, reports each key set or deleted — and, in a map whose values the store
 * changes in place (`upload.status = …`, `counters.used += …`), each key read through `get`, since
 * the value read may then change. The other maps' values are replaced, never changed: they are
 * frozen as they go in, so a change in place fails loudly instead of going unjournaled. Values
 * reached by iterating are only read.
 */
class TrackedMap<V> extends Map<string, V> {
  private note: ((key: string) => void) | null = null;

  private readonly changedInPlace: boolean;

  constructor(values: "changed in place" | "replaced") {
    super();
    this.changedInPlace = values === "changed in place";
  }

  track(note: (key: string) => void): void {
    this.note = note;
  }

  /** `get` that reports nothing (for writing out what was touched). */
  peek(key: string): V | undefined {
    return super.get(key);
  }

  override get(key: string): V | undefined {
    if (this.changedInPlace) this.note?.(key);
    return super.get(key);
  }

  override set(key: string, value: V): this {
    this.note?.(key);
    return super.set(key, this.changedInPlace ? value : Object.freeze(value));
  }

  override delete(key: string): boolean {
    this.note?.(key);
    return super.delete(key);
  }

  override clear(): void {
    if (this.note) for (const key of this.keys()) this.note(key);
    super.clear();
  }
}

export class MemoryStore implements StagingStore, SignatureTokens, QuotaLedger, LinkedObjects, MediaVariants, PublishedMedia {
  readonly uploads = new TrackedMap<StagedUpload>("changed in place");
  /** uploadId → deadline: the sweeper's work list. */
  readonly deadlines = new TrackedMap<number>("replaced");
  /** uploadId → when its PUT URL expires (or its check lease ends): the early-release work list. */
  readonly urlExpiries = new TrackedMap<number>("replaced");
  readonly quotas = new TrackedMap<QuotaCounters>("changed in place");
  readonly linked = new TrackedMap<LinkedObject>("replaced");
  /** Recorded processing outcomes, by link id (deleted with the link). */
  readonly media = new TrackedMap<MediaOutcome>("replaced");
  /** The media outbox: job JSON → when it is due (re-)delivery. */
  readonly mediaOutbox = new TrackedMap<number>("replaced");
  private readonly replays = new TrackedMap<Expiring<StoredConsume>>("replaced");
  private readonly presignReplays = new TrackedMap<Expiring<StoredReply>>("replaced");
  private readonly rateWindows = new TrackedMap<number[]>("changed in place");
  private readonly tokens = new TrackedMap<SignatureToken>("changed in place");
  /** Published items by `publishedId(orgId, uploadKey)`. */
  readonly published = new TrackedMap<PublishedItem>("replaced");
  /** The URL watch: `watchEntry` → when due (the upload's deadline), or lease end while claimed. */
  readonly urlWatch = new TrackedMap<number>("replaced");
  /** Told of each in-flight change, once the store is journaled. */
  private inFlightNote: ((orgId: string, userId: string) => void) | null = null;

  constructor(private readonly clock: Clock = systemClock) {}

  /** A copy of everything held (expired entries included: they expire on read, as before). */
  snapshot(): MemoryStoreSnapshot {
    return clone({
      version: 1,
      uploads: [...this.uploads],
      deadlines: [...this.deadlines],
      urlExpiries: [...this.urlExpiries],
      quotas: [...this.quotas].map(([orgId, counters]) => [orgId, { ...counters, inFlight: [...counters.inFlight] }]),
      linked: [...this.linked],
      replays: [...this.replays],
      presignReplays: [...this.presignReplays],
      media: [...this.media],
      mediaOutbox: [...this.mediaOutbox],
      rateWindows: [...this.rateWindows],
      tokens: [...this.tokens],
      published: [...this.published],
      urlWatch: [...this.urlWatch],
    });
  }

  /** Replaces everything held with `snapshot` (from snapshot(), possibly through JSON). */
  restore(snapshot: MemoryStoreSnapshot): void {
    if (snapshot.version !== 1) throw new Error(`Unknown MemoryStore snapshot version ${String(snapshot.version)}`);
    const copy = clone(snapshot);
    const refill = <V>(map: Map<string, V>, entries: [string, V][]): void => {
      map.clear();
      for (const [key, value] of entries) map.set(key, value);
    };
    refill(this.uploads, copy.uploads);
    refill(this.deadlines, copy.deadlines);
    refill(this.urlExpiries, copy.urlExpiries);
    refill(
      this.quotas,
      copy.quotas.map(([orgId, counters]) => [orgId, { ...counters, inFlight: this.inFlightOf(orgId, counters.inFlight) }]),
    );
    refill(this.linked, copy.linked);
    refill(this.replays, copy.replays);
    refill(this.presignReplays, copy.presignReplays);
    refill(this.media, copy.media);
    refill(this.mediaOutbox, copy.mediaOutbox);
    refill(this.rateWindows, copy.rateWindows);
    refill(this.tokens, copy.tokens);
    refill(this.published, copy.published ?? []);
    refill(this.urlWatch, copy.urlWatch ?? []);
  }

  /** An organisation's per-user in-flight bytes, reporting its changes to the journal when there is one. */
  private inFlightOf(orgId: string, entries: Iterable<[string, number]> = []): Map<string, number> {
    const map = new TrackedMap<number>("replaced");
    for (const [userId, bytes] of entries) map.set(userId, bytes);
    map.track((userId) => this.inFlightNote?.(orgId, userId));
    return map;
  }

  /** Every map a snapshot holds, by its name there (a Record, so a map added to the snapshot must be added here). */
  private namedMaps(): [MemoryStoreMapName, TrackedMap<unknown>][] {
    const maps: Record<MemoryStoreMapName, TrackedMap<unknown>> = {
      uploads: this.uploads,
      deadlines: this.deadlines,
      urlExpiries: this.urlExpiries,
      quotas: this.quotas,
      linked: this.linked,
      replays: this.replays,
      presignReplays: this.presignReplays,
      media: this.media,
      mediaOutbox: this.mediaOutbox,
      rateWindows: this.rateWindows,
      tokens: this.tokens,
      published: this.published,
      urlWatch: this.urlWatch,
    };
    return Object.entries(maps) as [MemoryStoreMapName, TrackedMap<unknown>][];
  }

  /**
   * From now on, hands `sink` every change as the entries it touched, with their values then: once
   * per atomic step (a method never awaits mid-step, so its whole body has run), in a microtask
   * queued by its first change, which therefore runs before the method's caller resumes. A record
   * costs what the step touched, never the size of the store. `sink` must serialise the values
   * before it returns (they are live). Replaying the records in order with `applyChanges` on the
   * state the journal started from rebuilds the store.
   */
  journalTo(sink: (changes: MemoryStoreChange[]) => void): void {
    const touched = new Map<MemoryStoreChange[0], Set<string>>();
    const maps = this.namedMaps();
    let queued = false;
    const record = (): void => {
      queued = false;
      const changes: MemoryStoreChange[] = [];
      for (const [name, map] of maps) {
        for (const key of touched.get(name) ?? []) changes.push(map.has(key) ? [name, key, toJournal(name, map.peek(key))] : [name, key]);
      }
      for (const key of touched.get("inFlight") ?? []) {
        const [orgId, userId] = key.split("\u0000") as [string, string];
        const bytes = this.quotas.peek(orgId)?.inFlight.get(userId);
        changes.push(bytes === undefined ? ["inFlight", key] : ["inFlight", key, bytes]);
      }
      touched.clear();
      sink(changes);
    };
    const note = (name: MemoryStoreChange[0], key: string): void => {
      const keys = touched.get(name) ?? new Set<string>();
      touched.set(name, keys);
      keys.add(key);
      if (!queued) {
        queued = true;
        queueMicrotask(record);
      }
    };
    for (const [name, map] of maps) map.track((key) => note(name, key));
    this.inFlightNote = (orgId, userId) => note("inFlight", `${orgId}\u0000${userId}`);
  }

  /** Applies journal records (from `journalTo`, possibly through JSON) in order. */
  applyChanges(changes: MemoryStoreChange[]): void {
    const maps = new Map(this.namedMaps());
    for (const [name, key, value] of changes) {
      if (name === "inFlight") {
        const [orgId, userId] = key.split("\u0000") as [string, string];
        if (value === undefined) this.counters(orgId).inFlight.delete(userId);
        else this.counters(orgId).inFlight.set(userId, value as number);
        continue;
      }
      const map = maps.get(name);
      if (!map) throw new Error(`Unknown MemoryStore map ${String(name)}`);
      if (value === undefined) map.delete(key);
      else if (name === "quotas") map.set(key, { ...(clone(value) as object), inFlight: this.quotas.peek(key)?.inFlight ?? this.inFlightOf(key) });
      else map.set(key, clone(value));
    }
  }

  private live<T>(map: Map<string, Expiring<T>>, key: string, now: number): T | null {
    const entry = map.get(key);
    if (!entry) return null;
    if (entry.expiresAt <= now) {
      map.delete(key);
      return null;
    }
    return entry.value;
  }

  /** The subject's sliding window (pruned to now) and, when full, how long until a slot frees. */
  private rateWindow(rate: RateLimit, now: number): { window: number[]; retryAfterSeconds: number | null } {
    const windowMs = rate.windowSeconds * 1000;
    const window = (this.rateWindows.get(rate.subject) ?? []).filter((t) => t > now - windowMs);
    this.rateWindows.set(rate.subject, window);
    const full = window.length >= rate.limit;
    return { window, retryAfterSeconds: full ? Math.max(1, Math.ceil((window[0]! + windowMs - now) / 1000)) : null };
  }

  protected counters(orgId: string): QuotaCounters {
    let counters = this.quotas.get(orgId);
    if (!counters) {
      counters = { used: 0, reserved: 0, inFlight: this.inFlightOf(orgId) };
      this.quotas.set(orgId, counters);
    }
    return counters;
  }

  /** Takes an upload's bytes off `reserved` and off its user's share (the scripts' `releaseInFlight`). */
  private releaseReservation(upload: StagedUpload): void {
    const counters = this.counters(upload.orgId);
    counters.reserved = Math.max(0, counters.reserved - upload.size);
    this.releaseInFlight(counters, upload);
  }

  private releaseInFlight(counters: QuotaCounters, upload: StagedUpload): void {
    if (!upload.userId) return;
    const left = (counters.inFlight.get(upload.userId) ?? 0) - upload.size;
    if (left > 0) counters.inFlight.set(upload.userId, left);
    else counters.inFlight.delete(upload.userId);
  }

  /**
   * Blocks (or unblocks) a scope for one erasure (MemoryErasures; the `erasing:` fields the erasure
   * scripts keep in the Redis quota hash). `entry` is `<userId or *> <erasureId>`; adding it twice adds it once.
   */
  setErasing(orgId: string, entry: string, erasing: boolean): void {
    const counters = this.counters(orgId);
    const others = (counters.erasing ?? []).filter((e) => e !== entry);
    const next = erasing ? [...others, entry] : others;
    if (next.length > 0) counters.erasing = next;
    else delete counters.erasing;
  }

  /** The scripts' `erasing`: an erasure of the whole org, or of this user in it, is in progress. */
  protected isErasing(orgId: string, userId: string | null): boolean {
    return (this.quotas.get(orgId)?.erasing ?? []).some((entry) => {
      const scope = entry.split(" ")[0];
      return scope === "*" || scope === userId;
    });
  }

  async stage(request: StageRequest): Promise<StageOutcome> {
    const now = this.clock.now();
    if (request.uploads.some((u) => this.isErasing(u.orgId, u.userId))) return { ok: false, reason: "erasing" };
    if (request.replay) {
      const replayed = this.live(this.presignReplays, request.replay.key, now);
      if (replayed) return { ok: true, now, replayed: clone(replayed) };
    }
    const rate = request.rateLimit ? this.rateWindow(request.rateLimit, now) : null;
    if (rate?.retryAfterSeconds) return { ok: false, reason: "rate_limited", retryAfterSeconds: rate.retryAfterSeconds };
    const counters = this.counters(request.quota.orgId);
    const quota = counters.quota ?? request.quota.defaultQuotaBytes;
    const total = request.uploads.reduce((sum, u) => sum + u.size, 0);
    // A request the quota refuses still counts towards the rate limit.
    if (counters.used + counters.reserved + total > quota) {
      rate?.window.push(now);
      return {
        ok: false,
        reason: "quota_exceeded",
        limit: "org_quota",
        limitBytes: quota,
        remainingBytes: Math.max(0, quota - counters.used - counters.reserved),
      };
    }
    const byUser = new Map<string, number>();
    for (const upload of request.uploads) if (upload.userId) byUser.set(upload.userId, (byUser.get(upload.userId) ?? 0) + upload.size);
    const cap = request.quota.userInFlightBytes;
    for (const [userId, bytes] of byUser) {
      const held = counters.inFlight.get(userId) ?? 0;
      if (cap !== undefined && held + bytes > cap) {
        rate?.window.push(now);
        return { ok: false, reason: "quota_exceeded", limit: "user_in_flight", limitBytes: cap, remainingBytes: Math.max(0, cap - held) };
      }
    }
    counters.reserved += total;
    for (const [userId, bytes] of byUser) counters.inFlight.set(userId, (counters.inFlight.get(userId) ?? 0) + bytes);
    const deadline = now + request.lifetimeSeconds * 1000;
    for (const upload of request.uploads) {
      this.uploads.set(upload.uploadId, { ...clone(upload), status: "staged", deadline, createdAt: now });
      this.deadlines.set(upload.uploadId, deadline);
      if (request.urlLifetimeSeconds) this.urlExpiries.set(upload.uploadId, now + request.urlLifetimeSeconds * 1000);
    }
    rate?.window.push(now);
    if (request.replay) this.presignReplays.set(request.replay.key, { value: clone(request.replay.stored), expiresAt: now + request.replay.ttlSeconds * 1000 });
    return { ok: true, now };
  }

  async uploadRecords(uploadIds: string[]): Promise<(StagedUpload | null)[]> {
    return uploadIds.map((id) => clone(this.uploads.get(id) ?? null));
  }

  async loadForConsume(uploadIds: string[], replayKey: string): Promise<ConsumeSnapshot> {
    const now = this.clock.now();
    return {
      now,
      replay: clone(this.live(this.replays, replayKey, now)),
      uploads: uploadIds.map((id) => clone(this.uploads.get(id) ?? null)),
    };
  }

  async commitConsume(request: CommitConsumeRequest): Promise<CommitConsumeOutcome> {
    const now = this.clock.now();
    const replay = this.live(this.replays, request.replayKey, now);
    if (replay) return { ok: false, replay: clone(replay) };
    if (this.isErasing(request.owner.orgId, request.owner.userId)) {
      return { ok: false, failures: request.uploadIds.map((uploadId) => ({ uploadId, code: "ERASURE_IN_PROGRESS" as const })) };
    }
    const failures: { uploadId: string; code: ConsumeFailureCode }[] = [];
    for (const uploadId of request.uploadIds) {
      const upload = this.uploads.get(uploadId);
      let code: ConsumeFailureCode | null = null;
      if (!upload) code = "NOT_FOUND";
      else if (upload.orgId !== request.owner.orgId || upload.userId !== request.owner.userId || upload.ownerType !== request.ownerType) {
        code = "FORBIDDEN";
      } else if (upload.status === "consumed") code = "ALREADY_CONSUMED";
      else if (upload.status !== "staged" || now >= upload.deadline) code = "EXPIRED";
      if (code) failures.push({ uploadId, code });
    }
    if (failures.length > 0) return { ok: false, failures };
    let total = 0;
    request.uploadIds.forEach((uploadId, i) => {
      const upload = this.uploads.get(uploadId)!;
      const final = request.finalObjects[i]!;
      this.urlWatch.set(watchEntry(upload, final.bucket === upload.bucket && final.key === upload.key), upload.deadline);
      upload.status = "consumed";
      upload.key = final.key;
      total += upload.size;
      this.releaseInFlight(this.counters(request.owner.orgId), upload);
      this.deadlines.delete(uploadId);
      this.linked.set(`${final.bucket}\u0000${final.key}`, { orgId: upload.orgId, size: upload.size });
    });
    const counters = this.counters(request.owner.orgId);
    counters.used += total;
    counters.reserved = Math.max(0, counters.reserved - total);
    for (const job of request.mediaJobs ?? []) if (job) this.mediaOutbox.set(encodeMediaJob(job), now + MEDIA_HANDOFF_GRACE_SECONDS * 1000);
    this.replays.set(request.replayKey, { value: clone(request.stored), expiresAt: now + request.replayTtlSeconds * 1000 });
    return { ok: true };
  }

  async holdForPromotion(uploadIds: string[], holdSeconds: number): Promise<HoldOutcome> {
    const now = this.clock.now();
    const failures: { uploadId: string; code: ConsumeFailureCode }[] = [];
    for (const uploadId of uploadIds) {
      const upload = this.uploads.get(uploadId);
      if (!upload) failures.push({ uploadId, code: "NOT_FOUND" });
      else if (upload.status === "consumed") failures.push({ uploadId, code: "ALREADY_CONSUMED" });
      else if (upload.status !== "staged" || now >= upload.deadline) failures.push({ uploadId, code: "EXPIRED" });
    }
    if (failures.length > 0) return { ok: false, failures };
    const heldUntil = now + holdSeconds * 1000;
    for (const uploadId of uploadIds) {
      const upload = this.uploads.get(uploadId)!;
      if (upload.deadline >= heldUntil) continue;
      upload.deadline = heldUntil;
      this.deadlines.set(uploadId, heldUntil);
    }
    return { ok: true };
  }

  async extendStaging(uploadId: string, request: { extendSeconds: number; maxLifetimeSeconds: number }): Promise<ExtendOutcome> {
    const now = this.clock.now();
    const upload = this.uploads.get(uploadId);
    if (!upload) return { ok: false, code: "NOT_FOUND" };
    if (upload.status === "consumed") return { ok: false, code: "ALREADY_CONSUMED" };
    if (upload.status !== "staged" || now >= upload.deadline) return { ok: false, code: "EXPIRED" };
    const wanted = Math.min(now + request.extendSeconds * 1000, upload.createdAt + request.maxLifetimeSeconds * 1000);
    if (wanted > upload.deadline) {
      upload.deadline = wanted;
      this.deadlines.set(uploadId, wanted);
    }
    return { ok: true, deadline: upload.deadline };
  }

  async discardStaged(uploadIds: string[], orgId: string): Promise<{ releasedBytes: number }> {
    const counters = this.counters(orgId);
    let releasedBytes = 0;
    for (const uploadId of uploadIds) {
      const upload = this.uploads.get(uploadId);
      if (upload?.status !== "staged") continue;
      counters.reserved = Math.max(0, counters.reserved - upload.size);
      releasedBytes += upload.size;
      this.releaseInFlight(counters, upload);
      this.uploads.delete(uploadId);
      this.deadlines.delete(uploadId);
      this.urlWatch.set(watchEntry(upload, false), upload.deadline);
    }
    return { releasedBytes };
  }

  async attachMultipart(uploads: { uploadId: string; multipart: MultipartPlan }[]): Promise<{ attached: string[] }> {
    const attached: string[] = [];
    for (const { uploadId, multipart } of uploads) {
      const upload = this.uploads.get(uploadId);
      if (upload?.status !== "staged" || upload.multipart) continue;
      upload.multipart = clone(multipart);
      attached.push(uploadId);
    }
    return { attached };
  }

  async claimWatchedKeys(request: { limit: number; leaseSeconds: number }): Promise<WatchClaimOutcome> {
    const now = this.clock.now();
    const due = [...this.urlWatch.entries()].filter(([, at]) => at <= now).sort((a, b) => a[1] - b[1] || (a[0] < b[0] ? -1 : 1));
    const claimed: WatchClaimOutcome["claimed"] = [];
    for (const [watchId] of due.slice(0, request.limit)) {
      const [bucket, key, storageUploadId, linked] = JSON.parse(watchId) as [string, string, string, string];
      if (linked && this.linked.has(linkId({ bucket, key }))) {
        this.urlWatch.delete(watchId);
        continue;
      }
      this.urlWatch.set(watchId, now + request.leaseSeconds * 1000);
      claimed.push({ watchId, bucket, key, ...(storageUploadId ? { storageUploadId } : {}) });
    }
    const remaining = [...this.urlWatch.values()].filter((at) => at <= now).length;
    return { now, claimed, remaining };
  }

  async forgetWatchedKeys(watchIds: string[]): Promise<{ forgotten: number }> {
    let forgotten = 0;
    for (const watchId of watchIds) if (this.urlWatch.delete(watchId)) forgotten += 1;
    return { forgotten };
  }

  async claimExpired(request: { limit: number; leaseSeconds: number }): Promise<ClaimOutcome> {
    const now = this.clock.now();
    const due = [...this.deadlines.entries()].filter(([, deadline]) => deadline <= now).sort((a, b) => a[1] - b[1]);
    const claimed: StagedUpload[] = [];
    for (const [uploadId] of due.slice(0, request.limit)) {
      const upload = this.uploads.get(uploadId);
      if (!upload || upload.status === "consumed") {
        this.deadlines.delete(uploadId);
        continue;
      }
      upload.status = "claimed";
      this.deadlines.set(uploadId, now + request.leaseSeconds * 1000);
      claimed.push(clone(upload));
    }
    const overdue = [...this.deadlines.values()].filter((deadline) => deadline <= now);
    return { now, claimed, remaining: overdue.length, oldestOverdueMs: overdue.length > 0 ? now - Math.min(...overdue) : 0 };
  }

  async finaliseSwept(uploads: Pick<StagedUpload, "uploadId" | "orgId">[]): Promise<{ finalised: number; releasedBytes: number }> {
    let finalised = 0;
    let releasedBytes = 0;
    for (const { uploadId } of uploads) {
      const upload = this.uploads.get(uploadId);
      if (upload?.status !== "claimed") continue;
      upload.status = "swept";
      this.deadlines.delete(uploadId);
      if (upload.abandonedAt === undefined) {
        this.releaseReservation(upload);
        releasedBytes += upload.size;
      }
      finalised += 1;
    }
    return { finalised, releasedBytes };
  }

  async claimUrlExpired(request: { limit: number; leaseSeconds: number; settleSeconds: number }): Promise<ClaimOutcome> {
    const now = this.clock.now();
    const cutoff = now - request.settleSeconds * 1000;
    const due = [...this.urlExpiries.entries()].filter(([, expiry]) => expiry <= cutoff).sort((a, b) => a[1] - b[1]);
    const claimed: StagedUpload[] = [];
    for (const [uploadId] of due.slice(0, request.limit)) {
      const upload = this.uploads.get(uploadId);
      if (upload?.status !== "staged") {
        this.urlExpiries.delete(uploadId);
        continue;
      }
      this.urlExpiries.set(uploadId, cutoff + request.leaseSeconds * 1000);
      claimed.push(clone(upload));
    }
    const overdue = [...this.urlExpiries.values()].filter((expiry) => expiry <= cutoff);
    return { now, claimed, remaining: overdue.length, oldestOverdueMs: overdue.length > 0 ? cutoff - Math.min(...overdue) : 0 };
  }

  async settleUrlExpired(request: {
    missing: Pick<StagedUpload, "uploadId" | "orgId">[];
    present: string[];
  }): Promise<{ abandoned: number; releasedBytes: number }> {
    const now = this.clock.now();
    let abandoned = 0;
    let releasedBytes = 0;
    for (const { uploadId } of request.missing) {
      const upload = this.uploads.get(uploadId);
      if (!upload) continue;
      this.urlExpiries.delete(uploadId);
      if (upload.status !== "staged") continue;
      upload.status = "abandoned";
      upload.abandonedAt = now;
      this.releaseReservation(upload);
      abandoned += 1;
      releasedBytes += upload.size;
    }
    for (const uploadId of request.present) this.urlExpiries.delete(uploadId);
    return { abandoned, releasedBytes };
  }

  async putSignatureToken(token: Omit<SignatureToken, "expiresAt" | "uploadId">, ttlSeconds: number): Promise<{ expiresAt: number }> {
    const expiresAt = this.clock.now() + ttlSeconds * 1000;
    this.tokens.set(token.tokenHash, { ...clone(token), expiresAt });
    return { expiresAt };
  }

  private tokenState(token: SignatureToken | undefined, now: number): SignatureTokenState {
    if (!token) return "unknown";
    const expired = now >= token.expiresAt;
    if (token.uploadId) return expired ? "unknown" : "used";
    return expired ? "expired" : "valid";
  }

  async checkSignatureToken(tokenHash: string, rateLimit: RateLimit): Promise<SignatureTokenCheck> {
    const now = this.clock.now();
    const rate = this.rateWindow(rateLimit, now);
    if (rate.retryAfterSeconds) return { state: "rate_limited" as const, retryAfterSeconds: rate.retryAfterSeconds };
    rate.window.push(now);
    const token = this.tokens.get(tokenHash);
    return { state: this.tokenState(token, now), token: token ? clone(token) : null };
  }

  async useSignatureToken(tokenHash: string, uploadId: string, options?: { pendingOnly?: boolean }): Promise<{ state: SignatureTokenState | "not_pending" }> {
    const token = this.tokens.get(tokenHash);
    const state = this.tokenState(token, this.clock.now());
    if (state !== "valid") return { state };
    if (options?.pendingOnly && token!.pendingUpload?.uploadId !== uploadId) return { state: "not_pending" };
    token!.uploadId = uploadId;
    return { state };
  }

  async holdPendingUpload(
    tokenHash: string,
    pending: PendingSignatureUpload,
  ): Promise<{ state: SignatureTokenState; replaced: PendingSignatureUpload | null }> {
    const token = this.tokens.get(tokenHash);
    const state = this.tokenState(token, this.clock.now());
    if (state !== "valid") return { state, replaced: null };
    const replaced = token!.pendingUpload ?? null;
    token!.pendingUpload = clone(pending);
    return { state, replaced };
  }

  async dropPendingUpload(tokenHash: string, uploadId: string): Promise<{ dropped: boolean }> {
    const token = this.tokens.get(tokenHash);
    if (token?.pendingUpload?.uploadId !== uploadId) return { dropped: false };
    delete token.pendingUpload;
    return { dropped: true };
  }

  async linkedObjects(objects: ObjectRef[]): Promise<(LinkedObject | null)[]> {
    return objects.map((o) => {
      const linked = this.linked.get(linkId(o));
      if (!linked) return null;
      const media = this.media.get(linkId(o));
      return media?.status === "ready" ? { ...clone(linked), variantKeys: Object.values(media.variants).map((v) => v.key) } : clone(linked);
    });
  }

  async unlinkObjects(orgId: string, objects: ObjectRef[]): Promise<{ released: number; bytes: number }> {
    let released = 0;
    let bytes = 0;
    for (const o of objects) {
      const id = linkId(o);
      const linked = this.linked.get(id);
      if (linked?.orgId !== orgId) continue;
      const media = this.media.get(id);
      this.linked.delete(id);
      this.media.delete(id);
      released += 1;
      bytes += linked.size + (media ? variantBytesOf(media) : 0);
    }
    const counters = this.counters(orgId);
    counters.used = Math.max(0, counters.used - bytes);
    return { released, bytes };
  }

  async setQuota(orgId: string, quotaBytes: number): Promise<void> {
    this.counters(orgId).quota = quotaBytes;
  }

  async setUsed(orgId: string, usedBytes: number): Promise<void> {
    this.counters(orgId).used = usedBytes;
  }

  async usage(orgId: string, defaultQuotaBytes: number): Promise<QuotaUsage> {
    const { used, reserved, quota } = this.counters(orgId);
    return { used, reserved, quota: quota ?? defaultQuotaBytes };
  }

  async inFlightByUser(orgId: string): Promise<Record<string, number>> {
    return Object.fromEntries(this.counters(orgId).inFlight);
  }

  async mediaStates(objects: ObjectRef[]): Promise<(MediaState | null)[]> {
    return objects.map((o) => {
      if (!this.linked.has(linkId(o))) return null;
      return clone(this.media.get(linkId(o)) ?? { status: "processing" as const });
    });
  }

  async recordMedia(object: ObjectRef & { orgId: string }, outcome: MediaOutcome): Promise<{ linked: boolean; recorded: boolean }> {
    const id = linkId(object);
    if (this.linked.get(id)?.orgId !== object.orgId) return { linked: false, recorded: false };
    const previous = this.media.get(id);
    if (previous && !isSupersededOutcome(previous)) return { linked: true, recorded: false };
    this.media.set(id, clone(outcome));
    this.counters(object.orgId).used += variantBytesOf(outcome) - (previous ? variantBytesOf(previous) : 0);
    return { linked: true, recorded: true };
  }

  async claimMediaJobs(request: { limit: number; leaseSeconds: number }): Promise<MediaJob[]> {
    const now = this.clock.now();
    const due = [...this.mediaOutbox.entries()]
      .filter(([, at]) => at <= now)
      .sort((a, b) => a[1] - b[1] || (a[0] < b[0] ? -1 : 1))
      .slice(0, request.limit);
    for (const [job] of due) this.mediaOutbox.set(job, now + request.leaseSeconds * 1000);
    return due.map(([job]) => JSON.parse(job) as MediaJob);
  }

  async ackMediaJobs(jobs: MediaJob[]): Promise<void> {
    for (const job of jobs) this.mediaOutbox.delete(encodeMediaJob(job));
  }

  async publishedItem(orgId: string, key: string): Promise<PublishedItem | null> {
    const item = this.published.get(publishedId(orgId, key));
    return item ? clone(item) : null;
  }

  async publishedItems(orgId: string): Promise<PublishedItem[]> {
    const prefix = publishedId(orgId, "");
    return [...this.published.entries()]
      .filter(([id]) => id.startsWith(prefix))
      .map(([, item]) => clone(item))
      .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  async recordPublished(
    object: ObjectRef & { orgId: string },
    item: PublishedItem,
  ): Promise<{ linked: boolean; recorded: boolean; item: PublishedItem | null }> {
    if (this.linked.get(linkId(object))?.orgId !== object.orgId) return { linked: false, recorded: false, item: null };
    const id = publishedId(object.orgId, object.key);
    const existing = this.published.get(id);
    if (existing) return { linked: true, recorded: false, item: clone(existing) };
    this.published.set(id, clone(item));
    this.counters(object.orgId).used += publishedBytesOf(item);
    return { linked: true, recorded: true, item: clone(item) };
  }

  async removePublished(orgId: string, key: string): Promise<PublishedItem | null> {
    const id = publishedId(orgId, key);
    const item = this.published.get(id);
    if (!item) return null;
    this.published.delete(id);
    const counters = this.counters(orgId);
    counters.used = Math.max(0, counters.used - publishedBytesOf(item));
    return item;
  }

  async scheduleMediaJobs(jobs: MediaJob[]): Promise<{ scheduled: number }> {
    const now = this.clock.now();
    let scheduled = 0;
    for (const job of jobs) {
      const id = linkId(job);
      const encoded = encodeMediaJob(job);
      const recorded = this.media.has(id) && !isSupersededOutcome(this.media.get(id));
      if (this.linked.get(id)?.orgId !== job.orgId || recorded || this.mediaOutbox.has(encoded)) continue;
      this.mediaOutbox.set(encoded, now);
      scheduled += 1;
    }
    return { scheduled };
  }
}
