/**
 * Persistence for the local stack's default store (MemoryStore): its snapshot lives in
 * `<UPLOADS_DATA_DIR>/memory-store.json`, beside the embedded S3 server's objects, so a restart on
 * the same data directory keeps staging records, links, replies, tokens and quota counters
 * consistent with the objects on disk. The stack calls `changed()` after every invocation; the
 * file is rewritten whole (temp file + rename, so a crash leaves the previous snapshot, never half
 * of one), one write at a time, the last change always written.
 */
import { readFile, rename, writeFile } from "node:fs/promises";
import type { MemoryStore, MemoryStoreSnapshot } from "@fitkit/core/adapters/memory/memory-store";

export interface MemoryPersistence {
  /** Something may have changed: write a snapshot soon. */
  changed(): void;
  /** Resolves once the current state is on disk. */
  flush(): Promise<void>;
}

export const MEMORY_STORE_FILE = "memory-store.json";

/** Restores `store` from `file` if it exists, then keeps the file up to date. A damaged file stops the stack. */
export async function persistMemoryStore(store: MemoryStore, file: string): Promise<MemoryPersistence> {
  let saved: string | null = null;
  try {
    saved = await readFile(file, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
  if (saved !== null) {
    try {
      store.restore(JSON.parse(saved) as MemoryStoreSnapshot);
    } catch (error) {
      throw new Error(`${file} is not a snapshot this stack can read (${(error as Error).message}); move it away to start with an empty store.`);
    }
  }

  let writing: Promise<void> | null = null;
  let dirty = false;
  const write = async (): Promise<void> => {
    while (dirty) {
      dirty = false;
      const temporary = `${file}.${process.pid}.tmp`;
      await writeFile(temporary, JSON.stringify(store.snapshot()));
      await rename(temporary, file);
    }
  };
  const changed = (): void => {
    dirty = true;
    writing ??= write()
      .catch((error: unknown) => {
        process.stderr.write(`${JSON.stringify({ level: "ERROR", message: "could not save the in-memory store", file, error: String(error) })}\n`);
      })
      .finally(() => {
        writing = null;
      });
  };
  return {
    changed,
    flush: async () => {
      changed();
      while (writing) await writing;
    },
  };
}
