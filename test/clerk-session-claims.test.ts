/**
 * Which Clerk session tokens authenticate, and which organisation claims count, with Clerk's real
 * `verifyToken` and tokens signed here by a locally generated RSA key. As Clerk's own SDK does:
 * a pending session (`sts: "pending"`, a task such as a forced password reset still to complete)
 * is signed out; the `o` object is read only from version-2 tokens (`v: 2`) and the `org_*`
 * claims only from version-1 tokens (no `v`, or `v: 1`).
 */
import { verifyToken } from "@clerk/backend";
import { signJwt } from "@clerk/backend/jwt";
import { ClerkAuthenticator } from "@fitkit/core/adapters/clerk/clerk-authenticator";
import { UnauthenticatedError } from "@fitkit/core/errors";
import { describe, expect, it } from "vitest";
import { generateDevKeyPair } from "../local/dev-auth.js";

const APP_ORIGIN = "https://app.fitkit.test";
const key = generateDevKeyPair();
const authenticator = new ClerkAuthenticator({ jwtKey: key.publicKeyPem, authorizedParties: [APP_ORIGIN] });

/** A session token signed with the local key: standard claims plus `claims`. */
async function sessionToken(claims: Record<string, unknown>): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const payload = { sub: "user_a", sid: "sess_a", iss: "https://clerk.fitkit.local", azp: APP_ORIGIN, iat: now, nbf: now - 5, exp: now + 600, ...claims };
  return signJwt(payload, key.privateKeyPem, { algorithm: "RS256", header: { typ: "JWT", kid: "ins_test" } });
}

const v2Org = { v: 2, o: { id: "org_a", rol: "admin" } };
const v1Org = { org_id: "org_a", org_role: "org:admin" };

describe("session status (sts)", () => {
  it.each([
    ["v2", v2Org],
    ["v1", v1Org],
  ])("refuses a pending %s session with 401 UNAUTHENTICATED, as Clerk treats it as signed out", async (_version, org) => {
    const pending = authenticator.authenticate(await sessionToken({ ...org, sts: "pending" }));

    await expect(pending).rejects.toBeInstanceOf(UnauthenticatedError);
    await expect(pending).rejects.toMatchObject({ code: "UNAUTHENTICATED", status: 401 });
  });

  it.each([
    ["absent", {}],
    ["active", { sts: "active" }],
  ])("accepts a session whose status is %s", async (_name, status) => {
    expect(await authenticator.authenticate(await sessionToken({ ...v2Org, ...status }))).toEqual({ userId: "user_a", orgId: "org_a", role: "admin" });
  });
});

describe("organisation claims by token version", () => {
  it("reads o.id and o.rol from a version-2 token", async () => {
    expect(await authenticator.authenticate(await sessionToken({ v: 2, o: { id: "org_b", rol: "coach" } }))).toEqual({
      userId: "user_a",
      orgId: "org_b",
      role: "coach",
    });
  });

  it.each([
    ["without v", v1Org],
    ["with v: 1", { v: 1, ...v1Org }],
  ])("reads org_id and org_role from a version-1 token %s", async (_name, claims) => {
    expect(await authenticator.authenticate(await sessionToken(claims))).toEqual({ userId: "user_a", orgId: "org_a", role: "admin" });
  });

  it("gives a version-2 token no organisation from stray org_id / org_role claims", async () => {
    expect(await authenticator.authenticate(await sessionToken({ v: 2, ...v1Org }))).toEqual({ userId: "user_a", orgId: null, role: null });
  });

  it("gives a version-1 token no organisation from an o object", async () => {
    const withoutV = await authenticator.authenticate(await sessionToken({ o: { id: "org_a", rol: "admin" } }));
    const withV1 = await authenticator.authenticate(await sessionToken({ v: 1, o: { id: "org_a", rol: "admin" } }));

    expect(withoutV).toEqual({ userId: "user_a", orgId: null, role: null });
    expect(withV1).toEqual({ userId: "user_a", orgId: null, role: null });
  });

  it("a version-2 token's o wins over stray v1 claims naming another organisation", async () => {
    const claims = { v: 2, o: { id: "org_b", rol: "member" }, org_id: "org_a", org_role: "org:admin" };
    expect(await authenticator.authenticate(await sessionToken(claims))).toEqual({ userId: "user_a", orgId: "org_b", role: "member" });
  });

  it("gives a token of an unknown claims version no organisation", async () => {
    expect(await authenticator.authenticate(await sessionToken({ ...v2Org, ...v1Org, v: 3 }))).toEqual({ userId: "user_a", orgId: null, role: null });
  });
});

describe("verified tokens", () => {
  it("verifies a token once and answers its identity again without verifying until its exp; past it, Clerk's verifier decides again", async () => {
    let verifications = 0;
    let now = Date.now();
    const counting = new ClerkAuthenticator({
      jwtKey: key.publicKeyPem,
      authorizedParties: [APP_ORIGIN],
      verify: async (...args) => {
        verifications += 1;
        return verifyToken(...args);
      },
      now: () => now,
    });
    const token = await sessionToken({ ...v2Org, exp: Math.floor(now / 1000) + 60 });

    const first = await counting.authenticate(token);
    const again = await counting.authenticate(token);
    const beforeExpiry = verifications;
    now += 61_000;
    await counting.authenticate(token);

    expect(first).toEqual({ userId: "user_a", orgId: "org_a", role: "admin" });
    expect(again).toEqual(first);
    expect(beforeExpiry).toBe(1);
    // The remembered entry did not answer past exp (Clerk's verifier, on the real clock, accepted it).
    expect(verifications).toBe(2);
  });

  it("remembers nothing of a token that fails: a forged or pending one is verified, and refused, every time", async () => {
    let verifications = 0;
    const counting = new ClerkAuthenticator({
      jwtKey: key.publicKeyPem,
      authorizedParties: [APP_ORIGIN],
      verify: async (...args) => {
        verifications += 1;
        return verifyToken(...args);
      },
    });
    const pending = await sessionToken({ ...v2Org, sts: "pending" });
    const forged = `${(await sessionToken(v2Org)).slice(0, -4)}AAAA`;

    for (const token of [pending, pending, forged, forged]) await expect(counting.authenticate(token)).rejects.toBeInstanceOf(UnauthenticatedError);

    expect(verifications).toBe(4);
  });
});
