/**
 * The scanner Lambda's invoke protocol (`scanner/`), shared by the function and its caller
 * (`LambdaScanner`) so the two cannot drift.
 *
 * Request — one of:
 *   `{ url, maxBytes }`  a presigned GET URL made by the caller (the scanner holds no storage token);
 *                        the scanner reads at most `maxBytes` from it (a Range request);
 *   `{ bytesBase64 }`    the bytes themselves, for content not stored yet (a synchronous invoke
 *                        carries at most 6 MB of payload, so only small content travels inline).
 * Reply — `{ verdict: "clean" }`, `{ verdict: "infected", signature }`, or `{ verdict: "error",
 * reason }` when no verdict could be had (the reason is the scanner's own text, never file content);
 * `cause: "stale-definitions"` marks a clean result refused because the definitions are too old.
 */
import * as z from "zod";

/** Largest body sent inline: 6 MB invoke limit, base64 (4/3) and the JSON around it. */
export const MAX_INLINE_SCAN_BYTES = 4 * 1024 * 1024;

export const scanRequestSchema = z.union([
  z.strictObject({ url: z.url({ protocol: /^https?$/ }), maxBytes: z.number().int().positive() }),
  z.strictObject({ bytesBase64: z.base64().max(Math.ceil(MAX_INLINE_SCAN_BYTES / 3) * 4) }),
]);
export type ScanRequest = z.output<typeof scanRequestSchema>;

export const scanReplySchema = z.discriminatedUnion("verdict", [
  z.object({ verdict: z.literal("clean") }),
  z.object({ verdict: z.literal("infected"), signature: z.string().min(1) }),
  z.object({ verdict: z.literal("error"), reason: z.string(), cause: z.literal("stale-definitions").optional() }),
]);
export type ScanReply = z.output<typeof scanReplySchema>;
