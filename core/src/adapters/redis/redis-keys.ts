/**
 * Every Redis key the service uses, in one place. All keys share the hash tag `{fku}` so the
 * multi-key scripts run on clustered Redis too. Variable parts are server-made ids or SHA-256
 * digests — never a client's string.
 */
import { sha256Hex as digest } from "../../hashing.js";

const TAG = "{fku}";

export const redisKeys = {
  upload: (uploadId: string) => `${TAG}:upload:${uploadId}`,
  /** For scripts that find upload ids on the work list and build their keys inside Redis. */
  uploadPrefix: () => `${TAG}:upload:`,
  deadlines: () => `${TAG}:deadlines`,
  urlExpiries: () => `${TAG}:url-expiries`,
  /** Sorted set of keys whose URLs outlive their records: JSON `[bucket, key, storageUploadId, linkedKey]` → when due (ms). */
  urlWatch: () => `${TAG}:url-watch`,
  consumeReplay: (replayKey: string) => `${TAG}:consume:${replayKey}`,
  presignReplay: (replayKey: string) => `${TAG}:presign:${replayKey}`,
  quota: (orgId: string) => `${TAG}:quota:${orgId}`,
  linked: (bucket: string, key: string) => `${TAG}:linked:${digest(bucket, key)}`,
  rateLimit: (subject: string) => `${TAG}:rate:${digest(subject)}`,
  signatureToken: (tokenHash: string) => `${TAG}:sigtoken:${tokenHash}`,
  /** Hash of an org's published uploads: upload key → PublishedItem JSON. */
  published: (orgId: string) => `${TAG}:published:${orgId}`,
  /** Sorted set of media jobs (canonical JSON) by the time they are due for (re-)delivery. */
  mediaOutbox: () => `${TAG}:media-outbox`,
  /** One erasure (`id`: SHA-256 of its scope and idempotency key): its state, then its receipt. */
  erasure: (id: string) => `${TAG}:erasure:${id}`,
  /** Hash of what an erasure noted, each once: `o:<bucket>/<key>` and `u:<uploadId>` members. */
  erasureSeen: (id: string) => `${TAG}:erasure-seen:${id}`,
  /** Hash of an erasure's totals: `t:<uploads|objects|bytes>:<ownerType>`, `objects`, `bytes`. */
  erasureTally: (id: string) => `${TAG}:erasure-tally:${id}`,
  /** Hash of an erasure's retained objects: `d:<bucket>/<key>` (each once), `l:<n>` (the listed ones), `count bytes until`. */
  erasureRetained: (id: string) => `${TAG}:erasure-retained:${id}`,
} as const;
