/**
 * Which R2 write token goes with which bucket link: each token is scoped to its one bucket in
 * Cloudflare, so a function holds the writer of exactly the buckets it writes. The stacks link by
 * this table (`stacks/functions.ts`) and the runtime picks credentials per bucket by it
 * (`resources.ts`). The records writer (consume's promotion only) writes the records bucket and
 * reads the compliance bucket, the source of its server-side copies. Plain data: importable without SST.
 */
export const BUCKET_WRITERS = { MediaBucket: "R2MediaWriter", ComplianceBucket: "R2ComplianceWriter", RecordsBucket: "R2RecordsWriter" } as const;

export type BucketLink = keyof typeof BUCKET_WRITERS;
export type WriterLink = (typeof BUCKET_WRITERS)[BucketLink];
