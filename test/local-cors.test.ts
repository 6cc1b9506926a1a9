/**
 * An app served from another origin (a Vite dev server on another port) calls the local API as it
 * will call the deployed one: the local stack answers the deployed API's CORS rule
 * (stacks/cors.ts) for the origins in APP_ORIGINS, and no other.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { apiCorsRule } from "../stacks/cors.js";
import { type LocalStack, startLocalStack } from "../support/local-stack.js";

const APP = "http://127.0.0.1:5173";
const OTHER = "http://127.0.0.1:6000";
let stack: LocalStack;

beforeAll(async () => {
  stack = await startLocalStack({ APP_ORIGINS: `${APP},http://localhost:5173` });
}, 90_000);
afterAll(() => stack?.close());

function corsHeaders(response: Response): Record<string, string> {
  const headers: Record<string, string> = {};
  response.headers.forEach((value, name) => {
    if (name.startsWith("access-control-") || name === "vary") headers[name] = value;
  });
  return headers;
}

describe("CORS on the local API", () => {
  it("answers a preflight from an app origin with the deployed rule", async () => {
    const response = await fetch(`${stack.api}/uploads`, {
      method: "OPTIONS",
      headers: { origin: APP, "access-control-request-method": "POST", "access-control-request-headers": "authorization,content-type" },
    });
    const rule = apiCorsRule([APP]);

    expect(response.status).toBe(204);
    expect(corsHeaders(response)).toEqual({
      "access-control-allow-origin": APP,
      "access-control-allow-methods": rule.allowMethods.join(","),
      "access-control-allow-headers": rule.allowHeaders.join(","),
      "access-control-max-age": "3600",
      vary: "origin",
    });
  });

  it("lets an app origin read an answer, with date and retry-after exposed", async () => {
    const response = await fetch(`${stack.api}/uploads/policy`, { headers: { origin: APP } });

    expect(response.status).toBe(401);
    expect(corsHeaders(response)).toEqual({ "access-control-allow-origin": APP, "access-control-expose-headers": "date,retry-after", vary: "origin" });
  });

  it("gives any other origin, and the internal operations, no CORS header at all", async () => {
    const other = await fetch(`${stack.api}/uploads/policy`, { headers: { origin: OTHER } });
    const preflight = await fetch(`${stack.api}/uploads`, { method: "OPTIONS", headers: { origin: OTHER, "access-control-request-method": "POST" } });
    const internal = await fetch(`${stack.api}/internal/usage`, {
      method: "POST",
      headers: { origin: APP, "x-internal-key": stack.internalApiKey },
      body: "{}",
    });

    expect(corsHeaders(other)).toEqual({});
    expect(corsHeaders(preflight)).toEqual({});
    expect(preflight.status).toBe(404);
    expect(corsHeaders(internal)).toEqual({});
  });
});
