/**
 * Client strings that name members of Object.prototype (`__proto__`, `constructor`, `toString`,
 * `hasOwnProperty`) are looked up in tables (extensions, content types, owner types, internal
 * operations, demo routes) and must be treated as the unknown names they are: a 4xx with the
 * error body, never a 500 — over HTTP against the local stack as `npm start` runs it.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LocalStack, startLocalStack } from "../support/local-stack.js";
import { uniqueId } from "./support/fixtures.js";
import { postJson } from "./support/http.js";

const PROTOTYPE_NAMES = ["__proto__", "constructor", "toString", "hasOwnProperty", "valueOf", "isPrototypeOf"];
let stack: LocalStack;

beforeAll(async () => {
  stack = await startLocalStack();
}, 90_000);
afterAll(() => stack?.close());

async function member(role = "admin") {
  const userId = uniqueId("user");
  const orgId = uniqueId("org");
  return { userId, orgId, token: await stack.token({ userId, orgId, role }) };
}

/** A 4xx answer in the contract's error shape. */
function expectClientError(res: { status: number; body: any }, context: string) {
  expect({ context, status: res.status >= 400 && res.status < 500 ? "4xx" : res.status }).toEqual({ context, status: "4xx" });
  expect(res.body).toEqual({ error: expect.objectContaining({ code: expect.any(String), message: expect.any(String) }) });
}

describe("names of Object.prototype members in client input", () => {
  it("signed-urls refuses keys whose extension or segments name a prototype member with 403, not 500", async () => {
    const who = await member();
    const keys = PROTOTYPE_NAMES.flatMap((name) => [
      `x.${name}`,
      name,
      `${who.orgId}/progress_photo/${who.userId}/abc.${name}`,
      `${who.orgId}/${name}/${who.userId}/abc.png`,
      `incoming/${who.orgId}/abc.${name}`,
      `records/${who.orgId}/abc.${name}`,
    ]);

    for (const key of keys) {
      const res = await postJson(`${stack.api}/uploads/signed-urls`, { keys: [key] }, who.token);
      expectClientError(res, key);
      expect(res.body.error.code).toBe("FORBIDDEN");
    }
  });

  it("presign refuses an ownerType or contentType naming a prototype member with a 4xx", async () => {
    const who = await member();
    for (const name of PROTOTYPE_NAMES) {
      const ownerType = await postJson(`${stack.api}/uploads`, { ownerType: name, files: [{ contentType: "image/png", size: 10 }] }, who.token);
      const contentType = await postJson(`${stack.api}/uploads`, { ownerType: "progress_photo", files: [{ contentType: name, size: 10 }] }, who.token);
      expectClientError(ownerType, `ownerType ${name}`);
      expectClientError(contentType, `contentType ${name}`);
    }
  });

  it("consume refuses an ownerType naming a prototype member with 400", async () => {
    const who = await member();
    for (const name of PROTOTYPE_NAMES) {
      const res = await stack.internal("consume", {
        uploadIds: ["0123456789abcdef0123456789abcdef"],
        ownerType: name,
        owner: { orgId: who.orgId, userId: who.userId },
        idempotencyKey: "k",
      });
      expectClientError(res, `consume ownerType ${name}`);
      expect(res.body.error.code).toBe("INVALID_REQUEST");
    }
  });

  it("an internal operation or a route named after a prototype member is 404 NOT_FOUND", async () => {
    for (const name of PROTOTYPE_NAMES) {
      const internal = await stack.internal(name, {});
      const post = await postJson(`${stack.api}/${name}`, {});
      const dev = await postJson(`${stack.api}/dev/${name}`, {});
      for (const [context, res] of [
        [`/internal/${name}`, internal],
        [`/${name}`, post],
        [`/dev/${name}`, dev],
      ] as const) {
        expectClientError(res, context);
        expect(res.body.error.code).toBe("NOT_FOUND");
      }
    }
  });

  it("a public signature PUT whose content type names a prototype member is 415 or 404, not 500", async () => {
    for (const name of PROTOTYPE_NAMES) {
      const res = await fetch(`${stack.api}/public/signatures/${"A".repeat(43)}`, { method: "PUT", headers: { "content-type": name }, body: "x" });
      expectClientError({ status: res.status, body: await res.json() }, `content-type ${name}`);
    }
  });

  it("a dev token request with a role naming a prototype member is 400", async () => {
    for (const name of PROTOTYPE_NAMES) {
      const res = await postJson(`${stack.api}/dev/token`, { userId: "user_a", orgId: "org_a", role: name });
      expectClientError(res, `role ${name}`);
      expect(res.body.error.code).toBe("INVALID_REQUEST");
    }
  });

  it("headers and query parameters named after prototype members do not disturb a valid request", async () => {
    const who = await member();
    const res = await fetch(`${stack.api}/uploads?__proto__=x&constructor=y&toString=z`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        authorization: `Bearer ${who.token}`,
        constructor: "x",
        hasOwnProperty: "y",
        toString: "z",
        valueOf: "w",
      },
      body: JSON.stringify({ ownerType: "progress_photo", files: [{ contentType: "image/png", size: 10 }] }),
    });
    expect(res.status).toBe(201);
  });
});
