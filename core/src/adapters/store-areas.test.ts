/**
 * RedisStore and MemoryStore are twins composed area by area (mixin.ts): a change to one area's
 * semantics is one pair of files, redis/redis-<area>.ts and memory/memory-<area>.ts. These specify
 * the pairing the contract suites take for granted: the same areas, holding the same methods, in
 * files named alike.
 */
import { readdirSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { MemoryErasures } from "./memory/memory-erasures.js";
import { MemoryState } from "./memory/memory-state.js";
import { MemoryStore } from "./memory/memory-store.js";
import { RedisArea } from "./redis/redis-area.js";
import { RedisErasures } from "./redis/redis-erasures.js";
import { RedisStore } from "./redis/redis-store.js";

/** The classes between `store` and `base` on the prototype chain, nearest first, with their own methods. */
function areasOf(store: abstract new (...args: never[]) => unknown, base: abstract new (...args: never[]) => unknown) {
  const areas: { name: string; methods: string[] }[] = [];
  for (let area = Object.getPrototypeOf(store.prototype); area !== base.prototype; area = Object.getPrototypeOf(area)) {
    areas.push({ name: area.constructor.name, methods: ownMethods(area) });
  }
  return areas;
}

/** A prototype's own port methods: every port method is async, an area's private helpers are not. */
const AsyncFunction = (async () => {}).constructor;
const ownMethods = (prototype: object): string[] =>
  Object.getOwnPropertyNames(prototype)
    .filter((name) => Object.getOwnPropertyDescriptor(prototype, name)?.value instanceof AsyncFunction)
    .sort();

/** `RedisQuotas` → `quotas`; `MemoryMultipart` → `multipart`. */
const areaName = (className: string): string => className.replace(/^(Redis|Memory)/, "").replace(/[A-Z]/g, (c, at) => (at > 0 ? "-" : "") + c.toLowerCase());

const redisAreas = areasOf(RedisStore, RedisArea);
const memoryAreas = areasOf(MemoryStore, MemoryState);

describe("the Redis and in-memory stores' areas", () => {
  it("compose both stores of the same areas, each holding the same methods in both", () => {
    const pairs = redisAreas.map((area) => ({ area: areaName(area.name), methods: area.methods }));

    expect(memoryAreas.map((area) => ({ area: areaName(area.name), methods: area.methods }))).toEqual(pairs);
    expect(pairs.map((p) => p.area)).toEqual(["publishing", "media", "signatures", "quotas", "multipart", "staging"]);
  });

  it("keeps the erasure port's twins alike too", () => {
    expect(ownMethods(MemoryErasures.prototype)).toEqual(ownMethods(RedisErasures.prototype));
  });

  it("gives every Redis module of an area its in-memory twin, named alike", () => {
    const shared = ["redis-area.ts", "redis-keys.ts", "redis-store.ts"];
    const redisModules = readdirSync(new URL("./redis/", import.meta.url)).filter(
      (f) => /^redis-.*\.ts$/.test(f) && !f.endsWith(".test.ts") && !shared.includes(f),
    );
    const memoryModules = new Set(readdirSync(new URL("./memory/", import.meta.url)));

    const twins = redisModules.map((f) => f.replace(/^redis-/, "memory-"));

    expect(twins.filter((f) => !memoryModules.has(f))).toEqual([]);
    expect(twins.sort()).toEqual([...memoryAreas.map((a) => `memory-${areaName(a.name)}.ts`), "memory-erasures.ts"].sort());
  });
});
