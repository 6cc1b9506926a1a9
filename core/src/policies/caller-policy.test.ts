import { describe, expect, it } from "vitest";
import { MemoryStore } from "../adapters/memory/memory-store.js";
import { FastUrlSigner } from "../adapters/s3/fast-url-signer.js";
import type { Identity } from "../auth/identity.js";
import { ForbiddenError } from "../errors.js";
import { presign } from "../staging/presign.js";
import { callerPolicy } from "./caller-policy.js";

const MiB = 1024 * 1024;
const member: Identity = { userId: "user_1", orgId: "org_1", role: "member" };
const admin: Identity = { userId: "user_2", orgId: "org_1", role: "admin" };

describe("callerPolicy", () => {
  it("gives a member the owner types every role may create, with their types and limits", () => {
    expect(callerPolicy(member)).toEqual({
      role: "member",
      ownerTypes: [
        {
          ownerType: "progress_photo",
          createRoles: ["member", "coach", "admin"],
          maxBytesByType: { "image/jpeg": 20 * MiB, "image/png": 20 * MiB, "image/webp": 20 * MiB, "image/heic": 20 * MiB },
        },
        {
          ownerType: "exercise_comment",
          createRoles: ["member", "coach", "admin"],
          maxBytesByType: {
            "image/jpeg": 20 * MiB,
            "image/png": 20 * MiB,
            "image/webp": 20 * MiB,
            "image/heic": 20 * MiB,
            "video/mp4": 500 * MiB,
            "video/quicktime": 500 * MiB,
            "video/webm": 500 * MiB,
          },
        },
        {
          ownerType: "message",
          createRoles: ["member", "coach", "admin"],
          maxBytesByType: { "image/jpeg": 10 * MiB, "image/png": 10 * MiB, "image/webp": 10 * MiB, "image/heic": 10 * MiB },
        },
      ],
    });
  });

  it("adds the admin-only owner types for an admin, and never the form signatures (they have their own route)", () => {
    const ownerTypes = callerPolicy(admin).ownerTypes;

    expect(ownerTypes.map((rules) => rules.ownerType)).toEqual(["progress_photo", "exercise_comment", "message", "organization_logo", "minisite_media"]);
    expect(ownerTypes.find((rules) => rules.ownerType === "organization_logo")).toEqual({
      ownerType: "organization_logo",
      createRoles: ["admin"],
      maxBytesByType: { "image/png": 2 * MiB, "image/jpeg": 2 * MiB, "image/webp": 2 * MiB },
    });
  });

  it("lists nothing for a caller without an active organisation or role", () => {
    expect(callerPolicy({ userId: "user_3", orgId: null, role: null })).toEqual({ role: null, ownerTypes: [] });
    expect(callerPolicy({ userId: "user_3", orgId: "org_1", role: null })).toEqual({ role: null, ownerTypes: [] });
    expect(callerPolicy({ userId: "user_3", orgId: null, role: "admin" })).toEqual({ role: null, ownerTypes: [] });
  });

  it("lists exactly the owner types presign accepts from each role", async () => {
    const deps = {
      store: new MemoryStore(),
      signer: new FastUrlSigner({ endpoint: "https://acct.r2.cloudflarestorage.com", region: "auto", accessKeyId: "AKID", secretAccessKey: "secret" }),
      settings: {
        presignTtlSeconds: 60,
        stagingGraceSeconds: 60,
        orgQuotaBytes: 10 * 1024 * MiB,
        userInFlightBytes: 10 * 1024 * MiB,
        presignRatePerMinute: 1000,
      },
      mediaBucket: "media",
    };
    for (const role of ["member", "coach", "admin"] as const) {
      const identity: Identity = { userId: `user_${role}`, orgId: `org_${role}`, role };
      const listed = new Set(callerPolicy(identity).ownerTypes.map((rules) => rules.ownerType as string));
      for (const ownerType of ["progress_photo", "exercise_comment", "message", "organization_logo", "minisite_media", "form_signature"] as const) {
        const accepted = await presign(deps, identity, { ownerType, files: [{ contentType: "image/png", size: 10 }] }).then(
          () => true,
          (error: unknown) => (error instanceof ForbiddenError ? false : Promise.reject(error)),
        );
        expect({ role, ownerType, listed: listed.has(ownerType) }).toEqual({ role, ownerType, listed: accepted });
      }
    }
  });
});
