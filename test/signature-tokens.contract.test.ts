/**
 * The contract of the SignatureTokens port, run against every adapter: in-memory, ioredis + real
 * Redis, and the real Upstash client through the bridge onto the same Redis.
 */
import type { SignatureTokens } from "@fitkit/core/signatures/signature-tokens";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { uniqueId } from "./support/fixtures.js";
import { ADAPTERS, RedisBackends } from "./support/staging-adapters.js";

const backends = new RedisBackends();
beforeAll(() => backends.start());
afterAll(() => backends.close());

const generousLimit = () => ({ subject: uniqueId("ip"), limit: 100, windowSeconds: 60 });
const newToken = () => ({ tokenHash: uniqueId("hash"), orgId: "org_t", formId: "form_1", submissionId: "sub_1" });

describe.each(ADAPTERS)("signature tokens contract: %s", (adapter) => {
  let tokens: SignatureTokens;
  beforeAll(() => {
    tokens = backends.store(adapter);
  });

  it("keeps a token by its hash: a check answers it valid with its fields and expiry, and changes nothing", async () => {
    const token = newToken();

    const { expiresAt } = await tokens.putSignatureToken(token, 60);
    const first = await tokens.checkSignatureToken(token.tokenHash, generousLimit());
    const second = await tokens.checkSignatureToken(token.tokenHash, generousLimit());

    expect(expiresAt).toBeGreaterThan(Date.now() + 50_000);
    expect(first).toEqual({ state: "valid", token: { ...token, expiresAt } });
    expect(second).toEqual(first);
  });

  it("answers an unknown hash as unknown, for a check and for a use", async () => {
    const tokenHash = uniqueId("nope");

    expect(await tokens.checkSignatureToken(tokenHash, generousLimit())).toEqual({ state: "unknown", token: null });
    expect(await tokens.useSignatureToken(tokenHash, "upload_1")).toEqual({ state: "unknown" });
  });

  it("lets exactly one of many concurrent uses burn a token; it is used from then on", async () => {
    const token = newToken();
    await tokens.putSignatureToken(token, 60);

    const uses = await Promise.all(Array.from({ length: 6 }, (_, i) => tokens.useSignatureToken(token.tokenHash, `upload_${i}`)));

    expect(uses.filter((u) => u.state === "valid")).toHaveLength(1);
    expect(uses.filter((u) => u.state === "used")).toHaveLength(5);
    const checked = await tokens.checkSignatureToken(token.tokenHash, generousLimit());
    expect(checked).toMatchObject({ state: "used", token: { tokenHash: token.tokenHash, uploadId: expect.stringMatching(/^upload_\d$/) } });
  });

  it("after its expiry an unused token is expired (and cannot be burnt), a used one unknown", async () => {
    const unused = newToken();
    const used = newToken();
    await tokens.putSignatureToken(unused, 1);
    await tokens.putSignatureToken(used, 1);
    await tokens.useSignatureToken(used.tokenHash, "upload_1");
    await backends.wait(adapter, 1100);

    expect((await tokens.checkSignatureToken(unused.tokenHash, generousLimit())).state).toBe("expired");
    expect(await tokens.useSignatureToken(unused.tokenHash, "upload_2")).toEqual({ state: "expired" });
    expect((await tokens.checkSignatureToken(unused.tokenHash, generousLimit())).state).toBe("expired");
    expect((await tokens.checkSignatureToken(used.tokenHash, generousLimit())).state).toBe("unknown");
  });

  it("holds one pending direct upload per token: a check shows it, the next hold replaces it and answers the replaced one", async () => {
    const token = newToken();
    await tokens.putSignatureToken(token, 60);
    const first = { uploadId: "up_1", key: "incoming/org_t/up_1.pdf", contentType: "application/pdf", size: 8_388_608, urlExpiresAt: 1_800_000_600_000 };
    const second = { ...first, uploadId: "up_2", key: "incoming/org_t/up_2.pdf", sha256: `${"a/+".repeat(14)}b=` };

    const held = await tokens.holdPendingUpload(token.tokenHash, first);
    const replacing = await tokens.holdPendingUpload(token.tokenHash, second);
    const checked = await tokens.checkSignatureToken(token.tokenHash, generousLimit());

    expect(held).toEqual({ state: "valid", replaced: null });
    expect(replacing).toEqual({ state: "valid", replaced: first });
    expect(checked).toMatchObject({ state: "valid", token: { tokenHash: token.tokenHash, pendingUpload: second } });
  });

  it("holds nothing on an unknown, used or expired token", async () => {
    const used = newToken();
    const expired = newToken();
    await tokens.putSignatureToken(used, 60);
    await tokens.putSignatureToken(expired, 1);
    await tokens.useSignatureToken(used.tokenHash, "upload_1");
    await backends.wait(adapter, 1100);
    const pending = { uploadId: "up_1", key: "incoming/org_t/up_1.pdf", contentType: "application/pdf", size: 10, urlExpiresAt: 1 };

    expect(await tokens.holdPendingUpload(uniqueId("nope"), pending)).toEqual({ state: "unknown", replaced: null });
    expect(await tokens.holdPendingUpload(used.tokenHash, pending)).toEqual({ state: "used", replaced: null });
    expect(await tokens.holdPendingUpload(expired.tokenHash, pending)).toEqual({ state: "expired", replaced: null });
    expect((await tokens.checkSignatureToken(used.tokenHash, generousLimit())).state).toBe("used");
    expect(await tokens.checkSignatureToken(used.tokenHash, generousLimit())).not.toHaveProperty("token.pendingUpload");
  });

  it("a pending-only use burns the token only for its pending upload; concurrent ones: exactly one wins", async () => {
    const token = newToken();
    await tokens.putSignatureToken(token, 60);
    const unheld = await tokens.useSignatureToken(token.tokenHash, "up_1", { pendingOnly: true });
    await tokens.holdPendingUpload(token.tokenHash, { uploadId: "up_1", key: "incoming/org_t/up_1.png", contentType: "image/png", size: 10, urlExpiresAt: 1 });

    const other = await tokens.useSignatureToken(token.tokenHash, "up_2", { pendingOnly: true });
    const uses = await Promise.all(Array.from({ length: 5 }, () => tokens.useSignatureToken(token.tokenHash, "up_1", { pendingOnly: true })));

    expect(unheld).toEqual({ state: "not_pending" });
    expect(other).toEqual({ state: "not_pending" });
    expect(uses.map((u) => u.state).sort()).toEqual(["used", "used", "used", "used", "valid"]);
    expect(await tokens.checkSignatureToken(token.tokenHash, generousLimit())).toMatchObject({ state: "used", token: { uploadId: "up_1" } });
  });

  it("drops the pending upload only when it is the one named", async () => {
    const token = newToken();
    await tokens.putSignatureToken(token, 60);
    await tokens.holdPendingUpload(token.tokenHash, { uploadId: "up_1", key: "incoming/org_t/up_1.png", contentType: "image/png", size: 10, urlExpiresAt: 1 });

    const wrong = await tokens.dropPendingUpload(token.tokenHash, "up_2");
    const right = await tokens.dropPendingUpload(token.tokenHash, "up_1");
    const again = await tokens.dropPendingUpload(token.tokenHash, "up_1");
    const unknown = await tokens.dropPendingUpload(uniqueId("nope"), "up_1");

    expect([wrong, right, again, unknown]).toEqual([{ dropped: false }, { dropped: true }, { dropped: false }, { dropped: false }]);
    const checked = await tokens.checkSignatureToken(token.tokenHash, generousLimit());
    expect(checked.state).toBe("valid");
    expect(checked).not.toHaveProperty("token.pendingUpload");
  });

  it("counts checks against the rate limit and says when to retry", async () => {
    const token = newToken();
    await tokens.putSignatureToken(token, 60);
    const rateLimit = { subject: uniqueId("ip"), limit: 2, windowSeconds: 60 };

    const checks = [
      await tokens.checkSignatureToken(token.tokenHash, rateLimit),
      await tokens.checkSignatureToken(uniqueId("other"), rateLimit),
      await tokens.checkSignatureToken(token.tokenHash, rateLimit),
    ];

    expect(checks.map((c) => c.state)).toEqual(["valid", "unknown", "rate_limited"]);
    const limited = checks[2] as { retryAfterSeconds: number };
    expect(limited.retryAfterSeconds).toBeGreaterThanOrEqual(59);
    expect(limited.retryAfterSeconds).toBeLessThanOrEqual(60);
  });
});
