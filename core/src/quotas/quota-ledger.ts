/**
 * The quota port: each organisation's counters — bytes linked (`used`), bytes staged (`reserved`)
 * and its quota — and each user's share of `reserved` (bytes in flight). Staging and consume move
 * bytes between the counters inside their own atomic steps; this port reads the counters and sets
 * them. Every method is one atomic step.
 */
export interface QuotaUsage {
  used: number;
  reserved: number;
  quota: number;
}

export interface QuotaLedger {
  /** Overrides the org's quota. */
  setQuota(orgId: string, quotaBytes: number): Promise<void>;
  /** Replaces the org's `used` counter (reconciliation). */
  setUsed(orgId: string, usedBytes: number): Promise<void>;
  /** The org's counters; `quota` is its override or the default. */
  usage(orgId: string, defaultQuotaBytes: number): Promise<QuotaUsage>;
  /**
   * Bytes each user of the org holds reserved (staged, not yet consumed, discarded, swept or
   * abandoned); users with none are absent. Their sum is `reserved` minus org-owned uploads.
   */
  inFlightByUser(orgId: string): Promise<Record<string, number>>;
}
