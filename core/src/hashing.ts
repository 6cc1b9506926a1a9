import { createHash, timingSafeEqual } from "node:crypto";

/** SHA-256 (hex) of parts joined by NUL — for server-made identifiers derived from client strings. */
export function sha256Hex(...parts: string[]): string {
  return createHash("sha256").update(parts.join("\u0000")).digest("hex");
}

/** Constant-time comparison of two strings (false when lengths differ). */
export function constantTimeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}
