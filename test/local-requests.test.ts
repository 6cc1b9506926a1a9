/**
 * The local stack's HTTP server on a real socket: a request target `new URL` cannot parse is a 400,
 * and the dev routes (which mint admin tokens) refuse anything that came through a proxy or tunnel
 * on the same host — forwarding headers, or a Host that is not loopback — though its socket is loopback.
 */
import { request } from "node:http";
import { connect } from "node:net";
import { ClerkAuthenticator } from "@fitkit/core/adapters/clerk/clerk-authenticator";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDemoRoutes } from "../local/demo/index.js";
import { generateDevKeyPair } from "../local/dev-auth.js";
import { createLocalServer, type LocalServerOptions } from "../local/server.js";

const key = generateDevKeyPair();
let options: LocalServerOptions | null = null;
const server = createLocalServer(() => options);
let port: number;
let api: string;

beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  port = (server.address() as { port: number }).port;
  api = `http://127.0.0.1:${port}`;
  const authenticator = new ClerkAuthenticator({ jwtKey: key.publicKeyPem, authorizedParties: [api] });
  const demo = createDemoRoutes({
    api,
    internal: {},
    devPrivateKeyPem: key.privateKeyPem,
    authenticator,
    published: async () => ({ publishedItems: async () => [] }),
  });
  options = { routes: [], internal: {}, internalApiKey: "k".repeat(32), extra: demo };
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

/** Sends raw bytes (a request no HTTP client would build) and answers the status code. */
function rawStatus(requestText: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1", () => socket.write(requestText));
    let reply = "";
    socket.setEncoding("utf8");
    socket.on("data", (chunk: string) => {
      reply += chunk;
      const status = /^HTTP\/1\.1 (\d{3})/.exec(reply);
      if (status) {
        socket.destroy();
        resolve(Number(status[1]));
      }
    });
    socket.on("error", reject);
    socket.setTimeout(5000, () => reject(new Error("no reply")));
  });
}

/** POST /dev/token from loopback with the given headers (Host included), as a proxy on this host would send it. */
function devToken(headers: Record<string, string>): Promise<{ status: number; body: { token?: string; error?: { code: string; message: string } } }> {
  return new Promise((resolve, reject) => {
    const body = JSON.stringify({ userId: "user_dev", orgId: "org_dev", role: "admin" });
    const req = request(
      { host: "127.0.0.1", port, method: "POST", path: "/dev/token", headers: { host: `127.0.0.1:${port}`, "content-type": "application/json", ...headers } },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => {
          text += chunk;
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

describe("the local stack's request parsing", () => {
  it.each(["http://[/", "http://[::1/x", "http://a b/"])("a request target new URL cannot parse (%s) is 400 INVALID_REQUEST, not 500", async (target) => {
    expect(await rawStatus(`GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`)).toBe(400);
  });

  it("an absolute-form target that parses is routed as usual", async () => {
    expect(await rawStatus(`GET http://127.0.0.1:${port}/no-such-route HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`)).toBe(404);
  });
});

describe("the dev routes refuse what came through a proxy or tunnel on the same host", () => {
  it("mints a token Clerk verification accepts for a direct loopback request (Host 127.0.0.1, localhost or [::1])", async () => {
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`, "localhost"]) {
      const minted = await devToken({ host });
      expect({ host, status: minted.status }).toEqual({ host, status: 200 });
    }
    const { body } = await devToken({});
    // Dev tokens carry no `azp`, as the local stack (no authorised parties configured) verifies them.
    const identity = await new ClerkAuthenticator({ jwtKey: key.publicKeyPem, authorizedParties: [] }).authenticate(body.token);
    expect(identity).toMatchObject({ userId: "user_dev", orgId: "org_dev", role: "admin" });
  });

  it.each([
    ["Forwarded", { forwarded: "for=203.0.113.7;proto=https" }],
    ["X-Forwarded-For", { "x-forwarded-for": "203.0.113.7" }],
    ["X-Forwarded-Host", { "x-forwarded-host": "dev.example.com" }],
    ["X-Forwarded-Proto", { "x-forwarded-proto": "https" }],
    ["X-Real-IP", { "x-real-ip": "203.0.113.7" }],
    ["Via", { via: "1.1 tunnel" }],
    ["CF-Connecting-IP", { "cf-connecting-ip": "203.0.113.7" }],
  ])("a request carrying %s is 403 FORBIDDEN, and no token", async (_name, headers) => {
    const refused = await devToken(headers);
    expect(refused).toEqual({ status: 403, body: { error: { code: "FORBIDDEN", message: expect.stringMatching(/proxy or tunnel/) } } });
  });

  it.each(["dev.example.com", "abc.trycloudflare.com:443", "127.0.0.1.nip.io", "192.168.1.20:3000", "[::2]"])(
    "a request with Host %s is 403 FORBIDDEN, and no token",
    async (host) => {
      const refused = await devToken({ host });
      expect(refused).toEqual({ status: 403, body: { error: { code: "FORBIDDEN", message: expect.stringMatching(/loopback Host/) } } });
    },
  );
});
