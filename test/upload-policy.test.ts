/**
 * `GET /uploads/policy` over HTTP against the local stack as `npm start` runs it (real Clerk
 * verification of dev tokens), read raw and through the upload client: each role sees the owner
 * types presign accepts from it, with their limits — and a file the policy refuses is refused by
 * presign too.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createUploader } from "../client/index.js";
import { type LocalStack, startLocalStack } from "../support/local-stack.js";
import { uniqueId } from "./support/fixtures.js";
import { errorBody } from "./support/http.js";
// Every reply of the API in this file is checked against docs/openapi.json (status and body).
import { expectDocumentedResponse, documentedPostJson as postJson } from "./support/openapi.js";

let stack: LocalStack;
beforeAll(async () => {
  stack = await startLocalStack();
}, 90_000);
afterAll(() => stack?.close());

const getPolicy = async (token?: string) => {
  const res = await expectDocumentedResponse(
    "GET",
    "/uploads/policy",
    await fetch(`${stack.api}/uploads/policy`, { headers: token ? { authorization: `Bearer ${token}` } : {} }),
  );
  return { status: res.status, body: await res.json() };
};

describe("GET /uploads/policy", () => {
  it("gives a member the owner types members may presign, with their types and size limits", async () => {
    const token = await stack.token({ userId: uniqueId("user"), orgId: uniqueId("org"), role: "member" });

    const policy = await getPolicy(token);

    expect(policy.status).toBe(200);
    expect(policy.body.role).toBe("member");
    expect(policy.body.ownerTypes.map((rules: { ownerType: string }) => rules.ownerType)).toEqual(["progress_photo", "exercise_comment", "message"]);
    expect(policy.body.ownerTypes[2]).toEqual({
      ownerType: "message",
      createRoles: ["member", "coach", "admin"],
      maxBytesByType: { "image/jpeg": 10_485_760, "image/png": 10_485_760, "image/webp": 10_485_760, "image/heic": 10_485_760 },
    });
  });

  it("through the upload client: an admin also sees the admin-only owner types, and what the policy refuses presign refuses", async () => {
    const who = { userId: uniqueId("user"), orgId: uniqueId("org") };
    const adminToken = await stack.token({ ...who, role: "admin" });
    const uploader = createUploader({ apiBaseUrl: stack.api, getToken: () => adminToken });

    const policy = await uploader.policy();

    expect(policy.role).toBe("admin");
    const logo = policy.ownerTypes.find((rules) => rules.ownerType === "organization_logo")!;
    expect(logo).toEqual({
      ownerType: "organization_logo",
      createRoles: ["admin"],
      maxBytesByType: { "image/png": 2_097_152, "image/jpeg": 2_097_152, "image/webp": 2_097_152 },
    });
    const tooLarge = await postJson(
      `${stack.api}/uploads`,
      { ownerType: "organization_logo", files: [{ contentType: "image/png", size: logo.maxBytesByType["image/png"]! + 1 }] },
      adminToken,
    );
    const notListed = await postJson(`${stack.api}/uploads`, { ownerType: "organization_logo", files: [{ contentType: "image/heic", size: 10 }] }, adminToken);
    expect(tooLarge).toMatchObject({ status: 413, body: errorBody("TOO_LARGE") });
    expect(notListed).toMatchObject({ status: 415, body: errorBody("UNSUPPORTED_MEDIA_TYPE") });
  });

  it("lists nothing for a session without an active organisation, and is 401 without a valid token", async () => {
    const noOrg = await stack.token({ userId: uniqueId("user") });

    expect(await getPolicy(noOrg)).toEqual({ status: 200, body: { role: null, ownerTypes: [] } });
    expect(await getPolicy()).toMatchObject({ status: 401, body: errorBody("UNAUTHENTICATED") });
    expect(await getPolicy("not-a-token")).toMatchObject({ status: 401, body: errorBody("UNAUTHENTICATED") });
  });
});
