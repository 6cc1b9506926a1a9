/**
 * The base a store area extends. RedisStore and MemoryStore are each one class composed of their
 * areas (staging, multipart, quotas, signatures, media, publishing), each area a mixin over its
 * adapter's shared base (RedisArea, MemoryState) — so a change to one area's semantics is one pair
 * of files, redis/redis-<area>.ts and memory/memory-<area>.ts.
 */
// biome-ignore lint/suspicious/noExplicitAny: a mixin's base must take `...args: any[]` (TypeScript error 2545)
export type MixinBase<T> = new (...args: any[]) => T;
