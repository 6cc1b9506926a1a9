/**
 * What every in-memory area builds on (memory-staging.ts, memory-multipart.ts, memory-quotas.ts,
 * memory-signatures.ts, memory-media.ts, memory-publishing.ts; MemoryErasures reads it too): the
 * maps that stand for Redis's keys, the clock, the snapshot and the journal the local stack
 * persists, and the quota-hash helpers more than one area's step uses. MemoryStore
 * (memory-store.ts) composes the areas over one MemoryState. JavaScript's single thread makes each
 * area method atomic as long as it never awaits mid-step.
 */
import type { MediaOutcome } from "../../media/media-variants.js";
import type { RateLimit } from "../../policies/rate-limit.js";
import type { PublishedItem } from "../../publishing/published-media.js";
import type { LinkedObject, ObjectRef } from "../../quotas/linked-objects.js";
import type { SignatureToken } from "../../signatures/signature-tokens.js";
import type { StoredConsume, StoredReply } from "../../staging/staging-store.js";
import { type Clock, systemClock } from "../../time/clock.js";
import type { StagedUpload } from "../../uploads/upload.js";
import type { MixinBase } from "../mixin.js";

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

export const clone = <T>(value: T): T => structuredClone(value);

export const linkId = (o: ObjectRef): string => `${o.bucket}\u0000${o.key}`;

export const variantBytesOf = (outcome: MediaOutcome): number =>
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

export class MemoryState {
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
  protected readonly replays = new TrackedMap<Expiring<StoredConsume>>("replaced");
  protected readonly presignReplays = new TrackedMap<Expiring<StoredReply>>("replaced");
  protected readonly rateWindows = new TrackedMap<number[]>("changed in place");
  protected readonly tokens = new TrackedMap<SignatureToken>("changed in place");
  /** Published items by `publishedId(orgId, uploadKey)`. */
  readonly published = new TrackedMap<PublishedItem>("replaced");
  /** The URL watch: `watchEntry` → when due (the upload's deadline), or lease end while claimed. */
  readonly urlWatch = new TrackedMap<number>("replaced");
  /** Told of each in-flight change, once the store is journaled. */
  private inFlightNote: ((orgId: string, userId: string) => void) | null = null;

  constructor(protected readonly clock: Clock = systemClock) {}

  /** A copy of everything held (expired entries included: they expire on read, as before). */
  snapshot(): MemoryStoreSnapshot {
    return clone(this.snapshotView());
  }

  /**
   * What snapshot() returns, without the deep copy: arrays over the live values, true only until the
   * store next changes. Serialise it in the same synchronous turn (the journal's compaction does:
   * it is JSON before anything can await); the copy cost as much as the serialising for a large store.
   */
  snapshotView(): MemoryStoreSnapshot {
    return {
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
    };
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

  protected live<T>(map: Map<string, Expiring<T>>, key: string, now: number): T | null {
    const entry = map.get(key);
    if (!entry) return null;
    if (entry.expiresAt <= now) {
      map.delete(key);
      return null;
    }
    return entry.value;
  }

  /** The subject's sliding window (pruned to now) and, when full, how long until a slot frees. */
  protected rateWindow(rate: RateLimit, now: number): { window: number[]; retryAfterSeconds: number | null } {
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
  protected releaseReservation(upload: StagedUpload): void {
    const counters = this.counters(upload.orgId);
    counters.reserved = Math.max(0, counters.reserved - upload.size);
    this.releaseInFlight(counters, upload);
  }

  protected releaseInFlight(counters: QuotaCounters, upload: StagedUpload): void {
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
}

/** The class an in-memory area mixin extends. */
export type MemoryStateBase = MixinBase<MemoryState>;
