import type { BucketKind } from "../policies/owner-types.js";

/** The bucket names behind each kind (from configuration). */
export type Buckets = Readonly<Record<BucketKind, string>>;
