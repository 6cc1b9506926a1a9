/** `EdgeCache` in memory, for core unit tests: records what was purged; `failNext` makes the next purge fail as the CDN would. */
import { DependencyUnavailableError } from "../../errors.js";
import type { EdgeCache } from "../../publishing/edge-cache.js";

export class MemoryEdgeCache implements EdgeCache {
  /** Every URL a confirmed purge covered, in order. */
  readonly purged: string[] = [];
  /** The next purge fails with DependencyUnavailableError("cdn") and purges nothing. */
  failNext = false;

  async purge(urls: readonly string[]): Promise<void> {
    if (this.failNext) {
      this.failNext = false;
      throw new DependencyUnavailableError("cdn");
    }
    this.purged.push(...urls);
  }
}
