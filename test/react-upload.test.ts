/**
 * The React binding (`useUpload`, client/react.ts) in a real browser against the local stack as
 * `npm start` runs it: Debian's chromium loads a small React page (bundled here with esbuild)
 * from an app origin that, like an app's dev server, forwards API paths to the stack; the hook
 * presigns with a dev session token and PUTs a real PNG cross-origin to the SigV4-checking S3
 * server, whose CORS rule lists the app origin (APP_ORIGINS). The upload id it returns is then
 * linked with the server SDK.
 *
 * Needs `apt-get install chromium`; without it this file fails (it never skips).
 */

import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { build } from "esbuild";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createUploadsClient, httpTransport } from "../sdk/src/index.js";
import { type LocalStack, startLocalStack } from "../support/local-stack.js";
import { closeChromium, gradientPng, launchChromium } from "./support/browser.js";
import { uniqueId } from "./support/fixtures.js";

let launched: Promise<Browser>;
let stack: LocalStack;
let script: string;
let app: { origin: string; server: Server };

const PAGE = '<!doctype html><title>useUpload</title><div id="root"></div><script src="/react-upload/app.js"></script>';

/**
 * The app's origin: serves the test page and forwards every other path to the stack (a real
 * loopback server, not request interception: chromium lets only a page it loaded from a local
 * address reach the local S3 server).
 */
async function startAppOrigin(): Promise<{ origin: string; server: Server }> {
  const server = createServer(async (req, res) => {
    if (req.url === "/react-upload/") return void res.writeHead(200, { "content-type": "text/html; charset=utf-8" }).end(PAGE);
    if (req.url === "/react-upload/app.js") return void res.writeHead(200, { "content-type": "text/javascript; charset=utf-8" }).end(script);
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const headers = Object.fromEntries(["authorization", "content-type"].flatMap((name) => (req.headers[name] ? [[name, String(req.headers[name])]] : [])));
    const answer = await fetch(`${stack.api}${req.url}`, { method: req.method, headers, ...(chunks.length > 0 ? { body: Buffer.concat(chunks) } : {}) });
    const forwarded = Object.fromEntries(
      ["content-type", "date", "retry-after"].flatMap((name) => (answer.headers.get(name) ? [[name, answer.headers.get(name)!]] : [])),
    );
    res.writeHead(answer.status, forwarded).end(Buffer.from(await answer.arrayBuffer()));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

beforeAll(async () => {
  launched = launchChromium();
  launched.catch(() => undefined); // reported by each test that needs it
  app = await startAppOrigin();
  const bundled = build({
    entryPoints: ["test/support/react-upload-page.ts"],
    bundle: true,
    write: false,
    format: "iife",
    platform: "browser",
    define: { "process.env.NODE_ENV": '"production"' },
    logLevel: "silent",
  });
  [stack, script] = await Promise.all([startLocalStack({ APP_ORIGINS: app.origin }), bundled.then((result) => result.outputFiles[0]!.text)]);
}, 90_000);
afterAll(async () => {
  await Promise.all([
    closeChromium(launched),
    stack?.close(),
    new Promise<void>((resolve) => {
      app?.server.closeAllConnections();
      app ? app.server.close(() => resolve()) : resolve();
    }),
  ]);
});

interface PageState {
  status: string;
  percents: number[];
  files: { loaded: number; total: number; state: string }[];
  uploadIds: string[];
  error: { code: string; status: number } | null;
}

/** The test page on the app's origin, signed in as `who` (a member). */
async function openPage(who: { userId: string; orgId: string }): Promise<{ page: Page; errors: string[] }> {
  const token = await stack.token({ ...who, role: "member" });
  const page = await (await launched).newPage();
  const errors: string[] = [];
  page.on("pageerror", (error) => errors.push(String(error)));
  await page.addInitScript(
    (config) => {
      window.uploadPageConfig = config;
    },
    { apiBaseUrl: app.origin, token },
  );
  await page.goto(`${app.origin}/react-upload/`);
  await page.waitForSelector("#files");
  return { page, errors };
}

const pageState = (page: Page) => page.evaluate(() => window.uploadPage as PageState);
const settled = (page: Page) => page.waitForFunction(() => ["done", "error", "aborted"].includes(window.uploadPage.status), undefined, { timeout: 20_000 });

describe("useUpload in chromium", () => {
  it("uploads a real PNG with progress reaching 100 % and returns an upload id the service can link", async () => {
    const who = { userId: uniqueId("user"), orgId: uniqueId("org") };
    const png = gradientPng(800, 600);
    const { page, errors } = await openPage(who);

    await page.setInputFiles("#files", { name: "front.png", mimeType: "image/png", buffer: png });
    await settled(page);

    const state = await pageState(page);
    expect(state).toEqual({
      status: "done",
      percents: expect.any(Array),
      files: [{ loaded: png.length, total: png.length, state: "done" }],
      uploadIds: [expect.stringMatching(/^[0-9a-f]{32}$/)],
      error: null,
    });
    // Progress only moves forward and reaches 100 once, at the end (the stored file).
    expect(state.percents.at(-1)).toBe(100);
    expect(state.percents.indexOf(100)).toBe(state.percents.length - 1);
    expect([...state.percents].sort((a, b) => a - b)).toEqual(state.percents);
    expect(await page.textContent("#upload-ids")).toBe(state.uploadIds[0]);

    // The id is a real staged upload of those bytes: the service links it.
    const uploads = createUploadsClient({ transport: httpTransport({ baseUrl: stack.api, internalKey: stack.internalApiKey }) });
    const linked = await uploads.consume({ uploadIds: state.uploadIds, ownerType: "progress_photo", owner: who });
    expect(linked.uploads).toEqual([expect.objectContaining({ uploadId: state.uploadIds[0], contentType: "image/png", size: png.length })]);
    expect(errors).toEqual([]);
    await page.close();
  });

  it("abort() stops the PUT in flight: status aborted, typed ABORTED error, no upload id", async () => {
    const who = { userId: uniqueId("user"), orgId: uniqueId("org") };
    const png = gradientPng(900, 700);
    const { page, errors } = await openPage(who);
    // A slow uplink, so the PUT is still in flight when the user cancels.
    const cdp = await page.context().newCDPSession(page);
    await cdp.send("Network.enable");
    await cdp.send("Network.emulateNetworkConditions", { offline: false, latency: 20, downloadThroughput: -1, uploadThroughput: 256 * 1024 });
    const failedPuts: string[] = [];
    page.on("requestfailed", (request) => {
      if (request.method() === "PUT") failedPuts.push(request.failure()?.errorText ?? "");
    });

    await page.setInputFiles("#files", { name: "side.png", mimeType: "image/png", buffer: png });
    await page.waitForFunction(() => (window.uploadPage.files[0]?.loaded ?? 0) > 0, undefined, { timeout: 10_000 });
    const midway = (await pageState(page)).files[0]!;
    await page.click("#abort");
    await settled(page);

    const state = await pageState(page);
    // Per-file progress was reported while the PUT was in flight.
    expect(midway.state).toBe("uploading");
    expect(midway.loaded).toBeLessThan(midway.total);
    expect({ status: state.status, error: state.error, uploadIds: state.uploadIds }).toEqual({
      status: "aborted",
      error: { code: "ABORTED", status: 0 },
      uploadIds: [],
    });
    expect(state.percents.at(-1)).toBeLessThan(100);
    expect(await page.getAttribute("#error", "data-code")).toBe("ABORTED");
    await expect.poll(() => failedPuts).toEqual(["net::ERR_ABORTED"]);
    expect(errors).toEqual([]);
    await page.close();
  });

  it("a file the owner type does not allow is the API's typed error (415 UNSUPPORTED_MEDIA_TYPE)", async () => {
    const { page, errors } = await openPage({ userId: uniqueId("user"), orgId: uniqueId("org") });

    await page.setInputFiles("#files", { name: "notes.txt", mimeType: "text/plain", buffer: Buffer.from("not a picture") });
    await settled(page);

    expect(await pageState(page)).toMatchObject({ status: "error", error: { code: "UNSUPPORTED_MEDIA_TYPE", status: 415 }, uploadIds: [] });
    expect(await page.getAttribute("#error", "data-code")).toBe("UNSUPPORTED_MEDIA_TYPE");
    expect(errors).toEqual([]);
    await page.close();
  });
});
