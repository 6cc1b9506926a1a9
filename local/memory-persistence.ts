/**
 * Persistence for the local stack's default store (MemoryStore), beside the embedded S3 server's
 * objects in `<UPLOADS_DATA_DIR>`, so a restart on the same data directory keeps staging records,
 * links, replies, tokens and quota counters consistent with the objects on disk. Two kinds of file,
 * as Redis's append-only file and its rewrite:
 *
 * - `memory-store.<n>.journal`: one JSON line per atomic step of the store (the entries it touched,
 *   see `MemoryStore.journalTo`), appended with a synchronous write before the step's caller resumes
 *   — so before any reply that depends on it is sent: a killed process (`kill -9`) loses no
 *   acknowledged change. An fdatasync follows in the background, one at a time (group commit), so
 *   a power cut loses at most the last moments. A request's write is what it touched, whatever the
 *   size of the store.
 * - `memory-store.json`: a snapshot of everything before journal `n` (its `journal` field). When
 *   the journal outgrows the snapshot (and `compactAtBytes`), appends switch to journal `n + 1`
 *   and, in the same turn, the store is copied; the copy is written in the background (temp file,
 *   fsync, rename, fsync of the directory: a crash leaves the previous snapshot, never half of
 *   one), and then the older journal is deleted. Its cost is proportional to the store but paid once
 *   per journal as large as the store, so each request's share stays constant.
 *
 * At start the snapshot is loaded and every journal from its `n` on is replayed in order; a torn
 * last line (a write cut short) is dropped, any other damage stops the stack with a message. Then
 * the state is compacted at once, so the stack runs on a fresh journal.
 */
import { closeSync, fdatasync, openSync, readFileSync, writeSync } from "node:fs";
import { open, readdir, readFile, rename, unlink } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { promisify } from "node:util";
import type { MemoryStoreChange, MemoryStoreSnapshot } from "@fitkit/core/adapters/memory/memory-state";
import type { MemoryStore } from "@fitkit/core/adapters/memory/memory-store";

const fdatasyncAsync = promisify(fdatasync);

export interface MemoryPersistence {
  /** Resolves once everything so far is on disk (the journal synced, any compaction finished). */
  flush(): Promise<void>;
  /** Starts a compaction now (tests; the store does it by itself as the journal grows) and resolves when it is durable. */
  compact(): Promise<void>;
  /** Bytes appended to the journal so far (all generations), for tests and benches: a count, not a timing. */
  journalBytesWritten(): number;
  /** Flushes, then stops journaling to disk. */
  close(): Promise<void>;
}

export interface MemoryPersistenceOptions {
  /** The journal is compacted once it is larger than both this and the last snapshot; default 1 MiB. */
  compactAtBytes?: number;
}

export const MEMORY_STORE_FILE = "memory-store.json";

/** A snapshot file: the store's snapshot and the first journal that follows it. */
type SnapshotFile = MemoryStoreSnapshot & { journal?: number };

const journalPattern = (file: string): RegExp => new RegExp(`^${basename(file, ".json").replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}\\.(\\d+)\\.journal$`);

/** `memory-store.json` → `memory-store.<n>.journal`, in the same directory. */
export const journalFile = (file: string, n: number): string => join(dirname(file), `${basename(file, ".json")}.${n}.journal`);

/** The journals beside `file`, by generation, oldest first. */
function journalsOf(file: string, names: string[]): number[] {
  const pattern = journalPattern(file);
  return names
    .map((name) => pattern.exec(name)?.[1])
    .filter((n): n is string => n !== undefined)
    .map(Number)
    .sort((a, b) => a - b);
}

/**
 * Restores `store` from `file` and its journals if they exist, then journals every change. A
 * damaged snapshot or journal (other than a torn last line) stops the stack.
 */
export async function persistMemoryStore(store: MemoryStore, file: string, options: MemoryPersistenceOptions = {}): Promise<MemoryPersistence> {
  const compactAtBytes = options.compactAtBytes ?? 1024 * 1024;
  const directory = dirname(file);
  let first = 0;
  let saved: string | null = null;
  try {
    saved = await readFile(file, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
  if (saved !== null) {
    try {
      const snapshot = JSON.parse(saved) as SnapshotFile;
      store.restore(snapshot);
      first = snapshot.journal ?? 0;
    } catch (error) {
      throw new Error(`${file} is not a snapshot this stack can read (${(error as Error).message}); move it away to start with an empty store.`);
    }
  }
  const journals = journalsOf(file, await readdir(directory));
  const replayed = journals.filter((n) => n >= first);
  for (const [i, n] of replayed.entries()) replay(store, journalFile(file, n), i === replayed.length - 1);

  let generation = Math.max(first, ...journals) + 1;
  let fd = openSync(journalFile(file, generation), "a");
  let journalBytes = 0;
  let written = 0;
  let snapshotBytes = await writeSnapshot(store.snapshotView(), file, generation);
  await removeJournalsBefore(file, generation);

  let failed = false;
  const fail = (message: string, error: unknown): void => {
    process.stderr.write(`${JSON.stringify({ level: "ERROR", message, file, error: String(error) })}\n`);
  };

  /** The fdatasync under way (one at a time), so a compaction closes the old journal only after it. */
  let syncInFlight: Promise<void> = Promise.resolve();
  let syncing = false;
  let unsynced = false;
  // Group commit: while one fdatasync runs, later appends wait for the next one.
  const syncSoon = (): void => {
    unsynced = true;
    if (syncing) return;
    syncing = true;
    void (async () => {
      while (unsynced) {
        unsynced = false;
        syncInFlight = fdatasyncAsync(fd);
        await syncInFlight;
      }
    })()
      .catch((error: unknown) => fail("could not sync the in-memory store's journal", error))
      .finally(() => {
        syncing = false;
      });
  };

  let compacting: Promise<void> | null = null;
  const compact = (): Promise<void> => {
    compacting ??= (async () => {
      // Switch journals and copy the store in one turn: the copy holds exactly what the old journal did.
      const next = generation + 1;
      const nextFd = openSync(journalFile(file, next), "a");
      // A view, not a copy: writeSnapshot serialises it before its first await, in this same turn.
      const snapshot = store.snapshotView();
      const previousFd = fd;
      fd = nextFd;
      generation = next;
      journalBytes = 0;
      snapshotBytes = await writeSnapshot(snapshot, file, next);
      await syncInFlight.catch(() => undefined); // later syncs are of the new journal
      closeSync(previousFd);
      await removeJournalsBefore(file, next);
    })()
      .catch((error: unknown) => fail("could not compact the in-memory store's journal", error))
      .finally(() => {
        compacting = null;
      });
    return compacting;
  };

  store.journalTo((changes: MemoryStoreChange[]) => {
    if (failed) return;
    const line = `${JSON.stringify(changes)}\n`;
    try {
      const bytes = Buffer.byteLength(line);
      writeSync(fd, line);
      journalBytes += bytes;
      written += bytes;
    } catch (error) {
      // The disk refused a write: say so once and stop, rather than leave a journal with a hole in it.
      failed = true;
      fail("could not append to the in-memory store's journal; changes from now on are not saved", error);
      return;
    }
    syncSoon();
    if (journalBytes > Math.max(compactAtBytes, snapshotBytes)) void compact();
  });

  const flush = async (): Promise<void> => {
    await compacting;
    await syncInFlight.catch(() => undefined);
    if (!failed) await fdatasyncAsync(fd);
  };
  return {
    flush,
    compact,
    journalBytesWritten: () => written,
    close: async () => {
      await flush();
      failed = true;
      closeSync(fd);
    },
  };
}

/** Applies one journal's records to `store`; a line cut short is tolerated only at the end of the last journal. */
function replay(store: MemoryStore, path: string, last: boolean): void {
  const lines = readFileSync(path, "utf8").split("\n");
  const tail = lines.pop()!; // "" when the file ends with a complete record
  if (tail !== "" && !last) {
    throw new Error(`${path} ends in a partial record but a later journal follows it; move it away to start from the snapshot.`);
  }
  for (const [i, line] of lines.entries()) {
    let changes: MemoryStoreChange[];
    try {
      changes = JSON.parse(line) as MemoryStoreChange[];
    } catch (error) {
      throw new Error(
        `${path} line ${i + 1} is not a journal record this stack can read (${(error as Error).message}); move it away to start from the snapshot.`,
      );
    }
    store.applyChanges(changes);
  }
}

/**
 * Writes `snapshot` (followed by journal `journal`) in place of `file`, durably; returns its size in
 * bytes. It is serialised synchronously, before the first await: a live view (snapshotView) is safe.
 */
async function writeSnapshot(snapshot: MemoryStoreSnapshot, file: string, journal: number): Promise<number> {
  const text = JSON.stringify({ ...snapshot, journal } satisfies SnapshotFile);
  const temporary = `${file}.${process.pid}.tmp`;
  const handle = await open(temporary, "w");
  try {
    await handle.writeFile(text);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(temporary, file);
  const directory = await open(dirname(file), "r");
  try {
    await directory.sync();
  } finally {
    await directory.close();
  }
  return Buffer.byteLength(text);
}

/** Deletes the journals a durable snapshot has made redundant. */
async function removeJournalsBefore(file: string, generation: number): Promise<void> {
  for (const n of journalsOf(file, await readdir(dirname(file)))) if (n < generation) await unlink(journalFile(file, n));
}
