/**
 * The one thing that breaks most direct-to-storage uploads in production — bucket CORS — proven in
 * a real browser: Debian's chromium (playwright-core) loads the demo page from the local stack's
 * origin and uploads cross-origin to the embedded S3 server, whose CORS rule is the production one
 * (stacks/cors.ts). A page on an origin the rule does not list is refused.
 *
 * Needs `apt-get install chromium`; without it this file fails (it never skips).
 */
import { createHash } from "node:crypto";
import { mkdir } from "node:fs/promises";
import { createServer } from "node:http";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDemoRoutes } from "../local/demo/index.js";
import { type LocalStack, startLocalStack } from "../support/local-stack.js";
import { pngBomb } from "../support/media.js";
import { closeChromium, gradientPng, launchChromium, startOriginServer } from "./support/browser.js";
import { uniqueId } from "./support/fixtures.js";
import { errorBody, postJson } from "./support/http.js";

const SCREENSHOT = "test-output/browser-demo.png";
const SIGNATURE_SCREENSHOT = "test-output/browser-signature.png";

/** Launched once; without chromium every browser test fails with the launch error (never a skip). */
let launched: Promise<Browser>;
let stack: LocalStack;
let otherOrigin: { origin: string; close(): Promise<void> };
const browser = () => launched;

beforeAll(async () => {
  launched = launchChromium();
  launched.catch(() => undefined); // reported by each test that needs it
  [stack, otherOrigin] = await Promise.all([
    startLocalStack(),
    startOriginServer("<!doctype html><title>another app</title><p>An origin the bucket's CORS rule does not list.</p>"),
  ]);
}, 60_000);
afterAll(async () => {
  await Promise.all([closeChromium(launched), stack?.close(), otherOrigin?.close()]);
});

interface NetworkEvent {
  method: string;
  url: string;
  /** The `Origin` request header. */
  origin?: string;
  /** DevTools' resource type: "XHR", "Preflight" (a CORS preflight's answer), … */
  type?: string;
  status?: number;
  /** Why the browser failed the request, e.g. "PreflightInvalidStatus". */
  corsError?: string;
}

/**
 * Every request the page's network stack makes, CORS preflights included (they are invisible to
 * Playwright's request events), through the Chrome DevTools Protocol. The array fills as they happen.
 */
async function watchNetwork(page: Page): Promise<NetworkEvent[]> {
  const cdp = await page.context().newCDPSession(page);
  const byId = new Map<string, NetworkEvent>();
  const events: NetworkEvent[] = [];
  const entry = (id: string) => {
    let event = byId.get(id);
    if (!event) {
      event = { method: "", url: "" };
      byId.set(id, event);
      events.push(event);
    }
    return event;
  };
  const originOf = (headers: Record<string, unknown>) => (headers.Origin ?? headers.origin) as string | undefined;
  cdp.on("Network.requestWillBeSent", (e) => {
    const event = entry(e.requestId);
    Object.assign(event, { method: e.request.method, url: e.request.url, type: event.type ?? e.type });
    event.origin ??= originOf(e.request.headers);
  });
  cdp.on("Network.requestWillBeSentExtraInfo", (e) => {
    entry(e.requestId).origin ??= originOf(e.headers);
  });
  cdp.on("Network.responseReceived", (e) => Object.assign(entry(e.requestId), { status: e.response.status, type: e.type }));
  cdp.on("Network.loadingFailed", (e) => {
    if (e.corsErrorStatus) entry(e.requestId).corsError = e.corsErrorStatus.corsError;
  });
  await cdp.send("Network.enable");
  return events;
}

const toStorage = (events: NetworkEvent[], method: string) => events.filter((e) => e.method === method && e.url.startsWith(`${new URL(stack.s3).origin}/`));

/**
 * A handwriting-like signature as mouse paths (CSS pixels in a pad `width` wide, 200 high): a
 * looping cursive run (a prolate cycloid with a tall first letter and one tall letter mid-word),
 * an underline flourish and a dot.
 */
function signatureStrokes(width: number): [number, number][][] {
  const run = Math.min(460, width - 140);
  const bump = (t: number, at: number, spread: number) => Math.exp(-(((t - at) / spread) ** 2));
  const cursive = Array.from({ length: 241 }, (_, i): [number, number] => {
    const t = i / 240;
    const phase = 2 * Math.PI * 7.25 * t;
    const height = 16 + 46 * bump(t, 0.04, 0.06) + 26 * bump(t, 0.58, 0.05);
    return [70 + run * t + 17 * Math.sin(phase), 124 - height * (1 - Math.cos(phase)) * 0.5 - 6 * Math.sin(Math.PI * t)];
  });
  const flourish = Array.from({ length: 61 }, (_, i): [number, number] => {
    const t = i / 60;
    return [96 + (run + 40) * t, 160 - 18 * t + 7 * Math.sin(Math.PI * 1.4 * t)];
  });
  const dot: [number, number][] = [
    [74 + run * 0.79, 80],
    [76 + run * 0.79, 79],
  ];
  return [cursive, flourish, dot];
}

describe("the demo page in chromium", () => {
  it("uploads a real PNG cross-origin to storage (preflight, progress to 100%), links it, shows its thumb after a placeholder and opens its display copy", async () => {
    const page = await (await browser()).newPage({ viewport: { width: 1100, height: 900 } });
    const errors: string[] = [];
    page.on("pageerror", (error) => errors.push(String(error)));
    // A clean console: no failed request (a favicon 404, a 409 while processing), no error logged.
    page.on("console", (message) => {
      if (message.type() === "error") errors.push(`console: ${message.text()}`);
    });
    page.on("response", (response) => {
      if (response.status() >= 400) errors.push(`${response.status()} ${response.url()}`);
    });
    const network = await watchNetwork(page);
    const userId = uniqueId("user");
    const orgId = uniqueId("org");
    const png = gradientPng(640, 480);

    await page.goto(`${stack.api}/`);
    // Nobody is signed in before the form is sent.
    await page.waitForFunction(() => (window as any).fitkitDemo !== undefined);
    expect(await page.textContent("#who")).toBe("Not signed in");
    expect(await page.evaluate(() => (window as any).fitkitDemo.identity)).toBeNull();
    await page.fill("#user-id", userId);
    await page.fill("#org-id", orgId);
    await page.click("#sign-in");
    await page.waitForFunction((id) => (window as any).fitkitDemo.identity?.userId === id, userId);
    await page.selectOption("#owner-type", "progress_photo");
    await page.setInputFiles("#files", { name: "progress-front.png", mimeType: "image/png", buffer: png });
    await page.click("#upload-button");
    await page.waitForFunction(() => ["uploaded", "error"].includes((window as any).fitkitDemo.phase));

    const afterUpload = await page.evaluate(() => (window as any).fitkitDemo);
    expect(afterUpload.lastError).toBeNull();
    expect(afterUpload.phase).toBe("uploaded");
    const [uploaded] = afterUpload.uploaded as { uploadId: string; key: string; size: number }[];
    expect(uploaded!.key).toBe(`${orgId}/progress_photo/${userId}/${uploaded!.uploadId}.png`);
    expect(uploaded!.size).toBe(png.length);
    // Progress events from XHR upload progress: monotonic, ending at exactly 100%.
    const percents = afterUpload.progress as number[];
    expect(percents.length).toBeGreaterThanOrEqual(2);
    expect([...percents].sort((a, b) => a - b)).toEqual(percents);
    expect(percents.at(-1)).toBe(100);
    expect(await page.getAttribute("#total", "data-percent")).toBe("100");

    // The PUT went cross-origin to storage after a successful CORS preflight.
    expect(toStorage(network, "OPTIONS")).toEqual([expect.objectContaining({ type: "Preflight", origin: stack.api, status: 200 })]);
    expect(toStorage(network, "PUT")).toEqual([expect.objectContaining({ type: "XHR", origin: stack.api, status: 200 })]);

    await page.click("#link-button");
    await page.waitForFunction(() => ["linked", "error"].includes((window as any).fitkitDemo.phase));
    expect(await page.evaluate(() => (window as any).fitkitDemo.lastError)).toBeNull();
    // The gallery shows the thumb copy (≤ 320 px), after the processing state and the ThumbHash placeholder.
    const variantUrl = (variant: string) =>
      new RegExp(`^${new URL(stack.s3).origin}/[^/]+/variants/${orgId}/progress_photo/${userId}/${uploaded!.uploadId}/${variant}\\.webp\\?`);
    const image = page.locator(`img[data-key="${uploaded!.key}"]`);
    await image.waitFor();
    await page.waitForFunction((key) => {
      const img = document.querySelector<HTMLImageElement>(`img[data-key="${key}"]`);
      return !!img && img.complete && img.naturalWidth > 0 && (window as any).fitkitDemo.gallery[key].statuses.includes("ready");
    }, uploaded!.key);
    const [width, height] = await image.evaluate((img: HTMLImageElement) => [img.naturalWidth, img.naturalHeight]);
    expect(width).toBeGreaterThan(0);
    expect(width).toBeLessThanOrEqual(320);
    expect([width, height]).toEqual([320, 240]);
    expect(await image.getAttribute("src")).toMatch(variantUrl("thumb"));
    const tile = await page.evaluate((key) => (window as any).fitkitDemo.gallery[key], uploaded!.key);
    expect(tile.statuses).toEqual(["processing", "placeholder", "ready"]);
    expect(tile.placeholder).toMatch(/^data:image\/png;base64,/);
    expect(await page.locator(`figure[data-status="ready"] img.tile-placeholder`).getAttribute("src")).toBe(tile.placeholder);
    // The placeholder fills the thumb's box, cropped as the thumb is (object-fit: cover), never
    // letterboxed into bands; layout sizes, so its slight blur-hiding scale does not count.
    const placeholderFit = await image.evaluate((thumb: HTMLImageElement) => {
      const box = thumb.closest<HTMLElement>(".tile-media")!;
      const placeholder = box.querySelector<HTMLImageElement>("img.tile-placeholder")!;
      return {
        objectFit: getComputedStyle(placeholder).objectFit,
        placeholder: [placeholder.offsetWidth, placeholder.offsetHeight],
        thumb: [thumb.offsetWidth, thumb.offsetHeight],
        box: [box.clientWidth, box.clientHeight],
      };
    });
    expect(placeholderFit.box[0]).toBeGreaterThan(0);
    expect(placeholderFit).toEqual({ objectFit: "cover", placeholder: placeholderFit.box, thumb: placeholderFit.box, box: placeholderFit.box });

    // A click opens the display copy (≤ 1600 px, never upscaled) in the lightbox.
    await image.click();
    await page.waitForFunction(() => {
      const img = document.querySelector<HTMLImageElement>("#lightbox-image");
      return !!img && img.complete && img.naturalWidth > 0;
    });
    const lightbox = await page.evaluate(() => ({
      open: document.querySelector<HTMLDialogElement>("#lightbox")!.open,
      currentSrc: document.querySelector<HTMLImageElement>("#lightbox-image")!.currentSrc,
      size: [
        document.querySelector<HTMLImageElement>("#lightbox-image")!.naturalWidth,
        document.querySelector<HTMLImageElement>("#lightbox-image")!.naturalHeight,
      ],
      shown: (window as any).fitkitDemo.lightbox,
    }));
    expect(lightbox.open).toBe(true);
    expect(lightbox.currentSrc).toMatch(variantUrl("display"));
    expect(lightbox.currentSrc).toBe(lightbox.shown.url);
    expect(lightbox.size).toEqual([640, 480]);
    // The caption states the copy shown, not only the original's size.
    await page.waitForFunction(() => document.querySelector("#lightbox-caption")!.textContent!.includes("display copy 640×480"));
    await page.keyboard.press("Escape");
    await page.waitForFunction(() => (window as any).fitkitDemo.lightbox === null);

    // Linked for real, exactly once: the backend's own consume under another key is refused.
    const again = await stack.internal("consume", {
      uploadIds: [uploaded!.uploadId],
      ownerType: "progress_photo",
      owner: { orgId, userId },
      idempotencyKey: "another",
    });
    expect(again.status).toBe(409);
    expect(again.body).toEqual(errorBody("ALREADY_CONSUMED"));

    await mkdir("test-output", { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    expect(errors).toEqual([]);
    await page.close();
  });

  it("a linked image that cannot be processed shows its failure code in the gallery", async () => {
    const page = await (await browser()).newPage({ viewport: { width: 1100, height: 900 } });
    const userId = uniqueId("user");
    const bomb = pngBomb();

    await page.goto(`${stack.api}/`);
    await page.fill("#user-id", userId);
    await page.fill("#org-id", uniqueId("org"));
    await page.click("#sign-in");
    await page.waitForFunction((id) => (window as any).fitkitDemo.identity?.userId === id, userId);
    await page.selectOption("#owner-type", "progress_photo");
    await page.setInputFiles("#files", { name: "bomb.png", mimeType: "image/png", buffer: bomb });
    await page.click("#upload-button");
    await page.waitForFunction(() => ["uploaded", "error"].includes((window as any).fitkitDemo.phase));
    const [uploaded] = (await page.evaluate(() => (window as any).fitkitDemo.uploaded)) as { key: string }[];
    await page.click("#link-button");
    await page.waitForFunction((key) => (window as any).fitkitDemo.gallery[key]?.code, uploaded!.key);

    const tile = await page.evaluate((key) => (window as any).fitkitDemo.gallery[key], uploaded!.key);
    expect(tile.statuses).toEqual(["processing", "failed"]);
    expect(tile.code).toBe("IMAGE_TOO_LARGE");
    expect(await page.locator('figure[data-status="failed"] .tile-code').textContent()).toBe("IMAGE_TOO_LARGE");
    expect(await page.locator('figure[data-status="failed"] img').count()).toBe(0);
    await page.close();
  });

  it("signature pad: an admin's signing link, a PNG drawn with mouse and touch PUT to the public route without a session (once), linked to records/ and rendered", async () => {
    const page = await (await browser()).newPage({ viewport: { width: 1100, height: 900 }, hasTouch: true });
    const errors: string[] = [];
    page.on("pageerror", (error) => errors.push(String(error)));
    const publicPuts: { headers: Record<string, string> }[] = [];
    page.on("request", (request) => {
      if (request.method() === "PUT" && new URL(request.url()).pathname.startsWith("/public/signatures/")) publicPuts.push({ headers: request.headers() });
    });
    const userId = uniqueId("user");
    const orgId = uniqueId("org");
    const submissionId = uniqueId("sub");
    const signature = () => page.evaluate(() => (window as any).fitkitDemo.signature);
    const settled = (...phases: string[]) =>
      page.waitForFunction((wanted) => [...wanted, "error"].includes((window as any).fitkitDemo.signature.phase), phases);

    await page.goto(`${stack.api}/`);
    await page.fill("#user-id", userId);
    await page.fill("#org-id", orgId);
    await page.selectOption("#role", "admin");
    await page.click("#sign-in");
    await page.waitForFunction((id) => (window as any).fitkitDemo.identity?.userId === id && (window as any).fitkitDemo.identity?.role === "admin", userId);

    // a. The admin creates a signing link.
    await page.fill("#sig-submission-id", submissionId);
    await page.click("#sig-issue-button");
    await settled("issued");
    const issued = await signature();
    expect(issued.lastError).toBeNull();
    expect(issued.link).toMatchObject({ path: expect.stringMatching(/^\/public\/signatures\/[A-Za-z0-9_-]{43}$/), formId: "form_waiver", submissionId });
    expect(await page.textContent("#sig-link-path")).toBe(issued.link.path);

    // b. The signatory draws with the mouse (pointer events) …
    const canvas = page.locator("#sig-canvas");
    await canvas.scrollIntoViewIfNeeded();
    const pad = (await canvas.boundingBox())!;
    await canvas.evaluate((node) => {
      (window as any).padPointers = [];
      node.addEventListener("pointerdown", (event) => (window as any).padPointers.push((event as PointerEvent).pointerType));
    });
    const [cursive, flourish, dot] = signatureStrokes(pad.width);
    for (const [first, ...rest] of [cursive!, dot!]) {
      await page.mouse.move(pad.x + first![0], pad.y + first![1]);
      await page.mouse.down();
      for (const [x, y] of rest) await page.mouse.move(pad.x + x, pad.y + y);
      await page.mouse.up();
    }
    // … and the underline with a finger (touch input → pointer events of type "touch").
    const touch = await page.context().newCDPSession(page);
    const finger = (type: "touchStart" | "touchMove" | "touchEnd", [x, y]: [number, number]) =>
      touch.send("Input.dispatchTouchEvent", { type, touchPoints: type === "touchEnd" ? [] : [{ x: pad.x + x, y: pad.y + y }] });
    await finger("touchStart", flourish![0]!);
    for (const point of flourish!.slice(1)) await finger("touchMove", point);
    await finger("touchEnd", flourish!.at(-1)!);
    await touch.detach();
    expect(await page.evaluate(() => (window as any).padPointers)).toEqual(["mouse", "mouse", "touch"]);
    const strokes = [cursive, dot, flourish];
    expect((await signature()).strokes).toBe(strokes.length);
    const inked = await page.$eval("#sig-canvas", (canvas: HTMLCanvasElement) => {
      const { data } = canvas.getContext("2d")!.getImageData(0, 0, canvas.width, canvas.height);
      let count = 0;
      for (let i = 3; i < data.length; i += 4) if (data[i]! > 0) count++;
      return count;
    });
    expect(inked).toBeGreaterThan(1000);

    // … and submits: a PNG PUT to the public path, with no session token.
    await page.click("#sig-submit-button");
    await settled("submitted");
    const submitted = await signature();
    expect(submitted.lastError).toBeNull();
    const stored = submitted.stored as { uploadId: string; sha256: string; size: number };
    expect(stored.uploadId).toMatch(/^[0-9a-f]{32}$/);
    expect(publicPuts).toHaveLength(1);
    const [put] = publicPuts;
    expect(put!.headers["content-type"]).toBe("image/png");
    expect(put!.headers.authorization).toBeUndefined();
    expect(await page.textContent("#sig-upload-id")).toBe(stored.uploadId);
    expect(await page.textContent("#sig-sha256")).toBe(stored.sha256);

    // c. Linked to the submission: consumed into records/, read back through a signed URL.
    await page.click("#sig-link-button");
    await settled("linked");
    expect((await signature()).lastError).toBeNull();
    const key = await page.textContent("#sig-key");
    expect(key).toMatch(/^records\//);
    expect(key).toBe(`records/${orgId}/${stored.uploadId}.png`);
    await page.waitForFunction(() => {
      const img = document.querySelector<HTMLImageElement>("#sig-image");
      return !!img && !!img.getAttribute("src") && img.complete;
    });
    const rendered = await page.$eval("#sig-image", (img: HTMLImageElement) => ({ src: img.src, width: img.naturalWidth, height: img.naturalHeight }));
    const canvasSize = await page.$eval("#sig-canvas", (canvas: HTMLCanvasElement) => ({ width: canvas.width, height: canvas.height }));
    expect(rendered.width).toBeGreaterThan(0);
    expect({ width: rendered.width, height: rendered.height }).toEqual(canvasSize);
    expect(rendered.src).toMatch(new RegExp(`^${new URL(stack.s3).origin}/${stack.buckets.records}/records/`));
    // What storage holds is the PNG the pad sent, byte for byte (size and SHA-256 of the PUT's reply).
    const bytes = Buffer.from(await (await fetch(rendered.src)).arrayBuffer());
    expect(bytes.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    expect(bytes.length).toBe(stored.size);
    expect(createHash("sha256").update(bytes).digest("base64")).toBe(stored.sha256);

    // The link works once: the page offers no second submit, and the route refuses one (TOKEN_USED).
    expect(await page.isDisabled("#sig-submit-button")).toBe(true);
    expect(await page.isDisabled("#sig-clear-button")).toBe(true);
    const again = await fetch(`${stack.api}${issued.link.path}`, { method: "PUT", headers: { "content-type": "image/png" }, body: new Uint8Array(bytes) });
    expect(again.status).toBe(409);
    expect(((await again.json()) as { error: { code: string } }).error.code).toBe("TOKEN_USED");
    expect(await page.textContent("#sig-key")).toBe(key); // the linked record stays
    expect(publicPuts).toHaveLength(1);

    await mkdir("test-output", { recursive: true });
    await page.locator("#signature").screenshot({ path: SIGNATURE_SCREENSHOT });
    expect(errors).toEqual([]);
    await page.close();
  });

  it("storage refuses a PUT from an origin its CORS rule does not list; the same URL works from the app's origin", async () => {
    const userId = uniqueId("user");
    const orgId = uniqueId("org");
    const token = await stack.token({ userId, orgId, role: "member" });
    const png = gradientPng(32, 32);
    const presigned = await postJson(`${stack.api}/uploads`, { ownerType: "progress_photo", files: [{ contentType: "image/png", size: png.length }] }, token);
    expect(presigned.status).toBe(201);
    const upload = presigned.body.uploads[0] as { uploadId: string; url: string; headers: Record<string, string> };
    const attempt = { url: upload.url, headers: upload.headers, bytes: [...png] };
    const putFromPage = (page: Page) =>
      page.evaluate(
        ({ url, headers, bytes }) =>
          new Promise<{ ok: boolean; status: number }>((resolve) => {
            const xhr = new XMLHttpRequest();
            xhr.open("PUT", url);
            for (const [name, value] of Object.entries(headers)) if (name !== "content-length") xhr.setRequestHeader(name, value);
            xhr.onload = () => resolve({ ok: true, status: xhr.status });
            xhr.onerror = () => resolve({ ok: false, status: xhr.status });
            xhr.send(new Uint8Array(bytes));
          }),
        attempt,
      );

    const stranger = await (await browser()).newPage();
    const network = await watchNetwork(stranger);
    await stranger.goto(`${otherOrigin.origin}/`);
    const refused = await putFromPage(stranger);

    // The browser's CORS check failed: the script sees a network error, and no PUT was sent.
    expect(refused).toEqual({ ok: false, status: 0 });
    // DevTools reports the preflight on its own session: it may come after the script saw the error.
    await expect.poll(() => toStorage(network, "OPTIONS")).toEqual([expect.objectContaining({ type: "Preflight", origin: otherOrigin.origin, status: 403 })]);
    // The PUT itself never left the browser: it failed on the preflight.
    await expect.poll(() => toStorage(network, "PUT").map((e) => e.corsError)).toEqual([expect.stringMatching(/^Preflight/)]);
    expect(toStorage(network, "PUT")[0]!.status).toBeUndefined();
    const notStored = await stack.internal("consume", {
      uploadIds: [upload.uploadId],
      ownerType: "progress_photo",
      owner: { orgId, userId },
      idempotencyKey: "k1",
    });
    expect(notStored.status).toBe(409);
    expect(notStored.body).toEqual(errorBody("NOT_UPLOADED"));
    await stranger.close();

    // Control: the very same presigned PUT from the app's own origin is allowed.
    const app = await (await browser()).newPage();
    await app.goto(`${stack.api}/health`);
    expect(await putFromPage(app)).toEqual({ ok: true, status: 200 });
    expect(
      (await stack.internal("consume", { uploadIds: [upload.uploadId], ownerType: "progress_photo", owner: { orgId, userId }, idempotencyKey: "k2" })).status,
    ).toBe(200);
    await app.close();
  });
});

describe("the demo's dev-only routes", () => {
  const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${stack.api}${path}`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(body) }).then(
      async (res) => ({ status: res.status, body: await res.json() }),
    );

  it("POST /dev/token signs a token the API accepts, and validates its input", async () => {
    const minted = await post("/dev/token", { userId: "user_dev", orgId: "org_dev", role: "coach" });
    expect(minted).toEqual({ status: 200, body: { token: expect.any(String), expiresAt: expect.any(String) } });
    const presign = await postJson(`${stack.api}/uploads`, { ownerType: "message", files: [{ contentType: "image/png", size: 10 }] }, minted.body.token);
    expect(presign.status).toBe(201);

    const invalid = await post("/dev/token", { userId: "../x", role: "owner" });
    expect(invalid.status).toBe(400);
    expect(invalid.body.error.details.map((d: { path: string }) => d.path)).toEqual(["userId", "role"]);
  });

  it("refuses requests a page on another origin could forge (no JSON content type, foreign Origin)", async () => {
    const textPlain = await fetch(`${stack.api}/dev/token`, {
      method: "POST",
      headers: { "content-type": "text/plain" },
      body: JSON.stringify({ userId: "u" }),
    });
    const foreign = await post("/dev/token", { userId: "u" }, { origin: otherOrigin.origin });
    expect(textPlain.status).toBe(403);
    expect(foreign).toMatchObject({ status: 403, body: errorBody("FORBIDDEN") });
  });

  it("POST /dev/link consumes as the token's user: 401 without a token, the owner check for another user's upload", async () => {
    const owner = { userId: uniqueId("user"), orgId: uniqueId("org") };
    const ownerToken = await stack.token({ ...owner, role: "member" });
    const upload = (await postJson(`${stack.api}/uploads`, { ownerType: "message", files: [{ contentType: "image/png", size: 10 }] }, ownerToken)).body
      .uploads[0];
    const stranger = await stack.token({ userId: uniqueId("user"), orgId: owner.orgId, role: "member" });

    const anonymous = await post("/dev/link", { uploadIds: [upload.uploadId], ownerType: "message" });
    const notTheirs = await post("/dev/link", { uploadIds: [upload.uploadId], ownerType: "message" }, { authorization: `Bearer ${stranger}` });
    const notUploaded = await post("/dev/link", { uploadIds: [upload.uploadId], ownerType: "message" }, { authorization: `Bearer ${ownerToken}` });

    expect(anonymous).toMatchObject({ status: 401, body: errorBody("UNAUTHENTICATED") });
    expect(notTheirs).toMatchObject({ status: 403, body: { error: { code: "FORBIDDEN", details: [{ uploadId: upload.uploadId, code: "FORBIDDEN" }] } } });
    expect(notUploaded).toMatchObject({ status: 409, body: errorBody("NOT_UPLOADED") });
  });

  it("POST /dev/signature-token issues a link for the admin's own organisation only", async () => {
    const orgId = uniqueId("org");
    const admin = await stack.token({ userId: uniqueId("user"), orgId, role: "admin" });
    const coach = await stack.token({ userId: uniqueId("user"), orgId, role: "coach" });
    const noOrg = await stack.token({ userId: uniqueId("user") });
    const request = { formId: "form_1", submissionId: uniqueId("sub"), orgId: "org_someone_else" };

    const issued = await post("/dev/signature-token", request, { authorization: `Bearer ${admin}` });
    expect(issued).toEqual({
      status: 201,
      body: { token: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/), path: `/public/signatures/${issued.body.token}`, expiresAt: expect.any(String) },
    });
    expect(Date.parse(issued.body.expiresAt) - Date.now()).toBeGreaterThan(86_000_000); // the default: 1 day
    // The link is for the admin's organisation (the body's orgId is ignored): consumed as that org.
    const stored = await (
      await fetch(`${stack.api}${issued.body.path}`, { method: "PUT", headers: { "content-type": "image/png" }, body: gradientPng(4, 4) as BodyInit })
    ).json();
    expect((await stack.internal("consume", { uploadIds: [stored.uploadId], ownerType: "form_signature", owner: { orgId }, idempotencyKey: "k" })).status).toBe(
      200,
    );

    expect(await post("/dev/signature-token", request)).toMatchObject({ status: 401, body: errorBody("UNAUTHENTICATED") });
    expect(await post("/dev/signature-token", request, { authorization: `Bearer ${coach}` })).toMatchObject({ status: 403, body: errorBody("FORBIDDEN") });
    expect(await post("/dev/signature-token", request, { authorization: `Bearer ${noOrg}` })).toMatchObject({ status: 403, body: errorBody("FORBIDDEN") });
    expect(await post("/dev/signature-token", request, { authorization: `Bearer ${admin}`, origin: otherOrigin.origin })).toMatchObject({
      status: 403,
      body: errorBody("FORBIDDEN"),
    });
    const invalid = await post("/dev/signature-token", { formId: "../x", submissionId: "s", ttlSeconds: 5 }, { authorization: `Bearer ${admin}` });
    expect(invalid.status).toBe(400);
    expect(invalid.body.error.details.map((d: { path: string }) => d.path).sort()).toEqual(["formId", "ttlSeconds"]);
  });

  it("refuses to sign dev tokens when the stack verifies real Clerk tokens (no dev key)", async () => {
    const demo = createDemoRoutes({
      api: "http://127.0.0.1:1",
      internal: {},
      devPrivateKeyPem: null,
      authenticator: { authenticate: async () => ({ userId: "u", orgId: "o", role: "member" }) },
      published: async () => ({ publishedItems: async () => [] }),
    });
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => void demo(req, res, Buffer.concat(chunks)));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as { port: number };
    try {
      const res = await fetch(`http://127.0.0.1:${port}/dev/token`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ userId: "u" }),
      });
      expect(res.status).toBe(403);
      expect(await res.json()).toEqual({ error: { code: "FORBIDDEN", message: expect.stringContaining("CLERK_JWT_KEY") } });
    } finally {
      server.close();
    }
  });
});
