/**
 * The request headers a presigned PUT signs besides `host`: the client sends exactly these (the
 * ones that apply to an upload), so the buckets' CORS rule (`stacks/cors.ts`) allows exactly
 * these — derived from this list, not copied. Plain data: importable by the stacks.
 */
export const SIGNED_PUT_HEADERS = ["content-type", "content-length", "if-none-match", "x-amz-checksum-sha256"] as const;
export type SignedPutHeader = (typeof SIGNED_PUT_HEADERS)[number];
