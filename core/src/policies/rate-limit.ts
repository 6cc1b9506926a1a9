/** A sliding-window rate limit, counted by a store in the same atomic step as the work it guards. */
export interface RateLimit {
  /** Server-made identity of the limited subject (e.g. "presign:user_123"); hashed into a key. */
  subject: string;
  limit: number;
  windowSeconds: number;
}
