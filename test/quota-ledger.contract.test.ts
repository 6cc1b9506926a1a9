/**
 * The contract of the QuotaLedger port, run against every adapter: in-memory, ioredis + real
 * Redis, and the real Upstash client through the bridge onto the same Redis.
 */
import type { QuotaLedger } from "@fitkit/core/quotas/quota-ledger";
import type { StagingStore } from "@fitkit/core/staging/staging-store";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { newUpload, uniqueId } from "./support/fixtures.js";
import { ADAPTERS, RedisBackends } from "./support/staging-adapters.js";

const backends = new RedisBackends();
beforeAll(() => backends.start());
afterAll(() => backends.close());

const DEFAULT_QUOTA = 1_000_000;

describe.each(ADAPTERS)("quota ledger contract: %s", (adapter) => {
  let quotas: QuotaLedger;
  let staging: StagingStore;
  beforeAll(() => {
    const instance = backends.store(adapter);
    quotas = instance;
    staging = instance;
  });

  it("answers an organisation it has never seen with empty counters and the default quota", async () => {
    expect(await quotas.usage(uniqueId("org"), DEFAULT_QUOTA)).toEqual({ used: 0, reserved: 0, quota: DEFAULT_QUOTA });
  });

  it("answers each user's bytes in flight, and no user for an organisation with none", async () => {
    const orgId = uniqueId("org");
    expect(await quotas.inFlightByUser(orgId)).toEqual({});
    await staging.stage({
      uploads: [newUpload({ orgId, userId: "user_a", size: 5 }), newUpload({ orgId, userId: "user_b", size: 7 }), newUpload({ orgId, userId: null, size: 11 })],
      lifetimeSeconds: 600,
      quota: { orgId, defaultQuotaBytes: DEFAULT_QUOTA },
    });

    expect(await quotas.inFlightByUser(orgId)).toEqual({ user_a: 5, user_b: 7 });
  });

  it("an override replaces the default quota, and a later override replaces it, down to zero", async () => {
    const orgId = uniqueId("org");

    await quotas.setQuota(orgId, 5_000);
    const overridden = await quotas.usage(orgId, DEFAULT_QUOTA);
    await quotas.setQuota(orgId, 0);
    const zero = await quotas.usage(orgId, DEFAULT_QUOTA);

    expect(overridden).toEqual({ used: 0, reserved: 0, quota: 5_000 });
    expect(zero).toEqual({ used: 0, reserved: 0, quota: 0 });
  });

  it("setUsed replaces the used counter and leaves reserved bytes and the quota alone", async () => {
    const orgId = uniqueId("org");
    await quotas.setQuota(orgId, 50_000);
    await staging.stage({ uploads: [newUpload({ orgId, size: 700 })], lifetimeSeconds: 600, quota: { orgId, defaultQuotaBytes: DEFAULT_QUOTA } });

    await quotas.setUsed(orgId, 1_234);
    await quotas.setUsed(orgId, 4_321);

    expect(await quotas.usage(orgId, DEFAULT_QUOTA)).toEqual({ used: 4_321, reserved: 700, quota: 50_000 });
  });

  it("staging honours the override and the used counter: what is left is quota − used − reserved", async () => {
    const orgId = uniqueId("org");
    await quotas.setQuota(orgId, 2_000);
    await quotas.setUsed(orgId, 1_500);

    const over = await staging.stage({ uploads: [newUpload({ orgId, size: 501 })], lifetimeSeconds: 600, quota: { orgId, defaultQuotaBytes: DEFAULT_QUOTA } });
    const fits = await staging.stage({ uploads: [newUpload({ orgId, size: 500 })], lifetimeSeconds: 600, quota: { orgId, defaultQuotaBytes: DEFAULT_QUOTA } });

    expect(over).toEqual({ ok: false, reason: "quota_exceeded", limit: "org_quota", limitBytes: 2_000, remainingBytes: 500 });
    expect(fits).toMatchObject({ ok: true });
    expect(await quotas.usage(orgId, DEFAULT_QUOTA)).toEqual({ used: 1_500, reserved: 500, quota: 2_000 });
  });
});
