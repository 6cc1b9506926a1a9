/**
 * Published branding over HTTP against the local stack as `npm start` runs it: an admin uploads a
 * logo and a hero (real JPEGs with GPS), they are consumed and processed, `publish` answers public
 * URLs that anyone can GET with the immutable cache header, and the minisite renders them in real
 * Chromium, the hero picked from its srcset. Unpublish and release take them off the public path.
 */
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LocalStack, startLocalStack } from "../support/local-stack.js";
import { phoneJpeg } from "../support/media.js";
import { launchChromium } from "./support/browser.js";
import { sleep, uniqueId } from "./support/fixtures.js";
import { postJson, putPresigned } from "./support/http.js";

let stack: LocalStack;
let browser: Browser;

beforeAll(async () => {
  [stack, browser] = await Promise.all([startLocalStack(), launchChromium()]);
}, 90_000);
afterAll(async () => {
  await browser?.close();
  await stack?.close();
});

/** Presigns, PUTs and consumes `bytes` as an admin's upload of `ownerType`; answers its key. */
async function linkedUpload(who: { orgId: string; userId: string; token: string }, ownerType: string, bytes: Buffer): Promise<string> {
  const presigned = await postJson(`${stack.api}/uploads`, { ownerType, files: [{ contentType: "image/jpeg", size: bytes.length }] }, who.token);
  expect(presigned.status).toBe(201);
  const upload = presigned.body.uploads[0];
  expect((await putPresigned(upload, bytes)).status).toBe(200);
  const consumed = await stack.internal("consume", {
    uploadIds: [upload.uploadId],
    ownerType,
    owner: { orgId: who.orgId, userId: who.userId },
    idempotencyKey: uniqueId("consume"),
  });
  expect(consumed.status).toBe(200);
  return upload.key;
}

/** `publish`, asked again while the image is still being processed (409 STILL_PROCESSING). */
async function publishWhenProcessed(orgId: string, key: string) {
  let reply = await stack.internal("publish", { orgId, key });
  for (let i = 0; reply.status === 409 && reply.body.error.code === "STILL_PROCESSING" && i < 80; i++) {
    await sleep(250);
    reply = await stack.internal("publish", { orgId, key });
  }
  return reply;
}

const urlsOf = (srcset: string): string[] => srcset.split(", ").map((entry) => entry.split(" ")[0]!);

/** Every rendition URL of a publish answer: the WebP srcset and any AVIF source. */
const renditionsOf = (answer: { srcset: string; sources: { srcset: string }[] }): string[] => [
  ...urlsOf(answer.srcset),
  ...answer.sources.flatMap((s) => urlsOf(s.srcset)),
];

async function admin() {
  const orgId = uniqueId("org");
  const userId = uniqueId("user");
  return { orgId, userId, token: await stack.token({ userId, orgId, role: "admin" }) };
}

describe("published branding", () => {
  it("every rendition is public, immutable and typed; the minisite shows them, the hero chosen from its srcset", async () => {
    const who = await admin();
    const logoKey = await linkedUpload(who, "organization_logo", phoneJpeg(400, 300));
    const heroKey = await linkedUpload(who, "minisite_media", phoneJpeg(2400, 1600));

    const [logo, hero] = await Promise.all([publishWhenProcessed(who.orgId, logoKey), publishWhenProcessed(who.orgId, heroKey)]);

    expect(logo.status).toBe(200);
    expect(hero.status).toBe(200);
    // Orientation 6: the 2400×1600 photo is displayed 1600 wide, so the ladder stops at 1280.
    expect(hero.body.srcset.split(", ").map((e: string) => e.split(" ")[1])).toEqual(["320w", "640w", "960w", "1280w"]);
    expect(hero.body).toMatchObject({ url: expect.stringMatching(/\/1280\.webp$/), width: 1280, height: 1920 });
    const renditionUrls = [logo, hero].flatMap((r) => renditionsOf(r.body));
    for (const url of renditionUrls) {
      expect(url.startsWith(stack.publicBaseUrl)).toBe(true);
      const res = await fetch(url);
      expect(res.status).toBe(200);
      expect(res.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
      expect(res.headers.get("content-type")).toBe(url.endsWith(".avif") ? "image/avif" : "image/webp");
      expect((await res.arrayBuffer()).byteLength).toBe(Number(res.headers.get("content-length")));
    }
    // The public path serves the public bucket's renditions only, never an upload.
    expect((await fetch(`${stack.publicBaseUrl}${heroKey}`)).status).toBe(404);
    expect((await fetch(`${stack.publicBaseUrl}${logoKey}`)).status).toBe(404);

    const page = await browser.newPage({ viewport: { width: 412, height: 823 }, deviceScaleFactor: 1 });
    try {
      const response = await page.goto(`${stack.api}/minisite/${who.orgId}`, { waitUntil: "load" });
      expect(response?.status()).toBe(200);
      const heroImage = page.locator("img.hero");
      await heroImage.evaluate((img: HTMLImageElement) => img.decode());
      const rendered = await heroImage.evaluate((img: HTMLImageElement) => ({
        currentSrc: img.currentSrc,
        naturalWidth: img.naturalWidth,
        fetchPriority: img.getAttribute("fetchpriority"),
        width: img.getAttribute("width"),
        height: img.getAttribute("height"),
        sizes: img.getAttribute("sizes"),
        // Painted until the image loaded, then taken away.
        background: img.style.backgroundImage,
      }));
      expect(renditionsOf(hero.body)).toContain(rendered.currentSrc);
      // 412 CSS px at 1x: the 640-wide rendition, not the 1280 default.
      expect(rendered.currentSrc).toMatch(/\/640\.(webp|avif)$/);
      // A `w` descriptor sets the density: 640 pixels in a 412 px slot report 412 natural CSS pixels.
      expect(rendered).toMatchObject({ naturalWidth: 412, fetchPriority: "high", width: "1280", height: "1920", sizes: "100vw", background: "none" });
      expect(await response!.text()).toMatch(/<img class="hero"[^>]*style="background-image:url\(data:image\/png;base64,[A-Za-z0-9+/=]+\)"/);
      const logoSrc = await page.locator("img.logo").evaluate((img: HTMLImageElement) => img.currentSrc);
      expect(renditionsOf(logo.body)).toContain(logoSrc);
    } finally {
      await page.close();
    }
  });

  it("unpublish and release take the renditions off the public path; the minisite then shows what is left", async () => {
    const who = await admin();
    const logoKey = await linkedUpload(who, "organization_logo", phoneJpeg(400, 300));
    const heroKey = await linkedUpload(who, "minisite_media", phoneJpeg(800, 600));
    const [logo, hero] = await Promise.all([publishWhenProcessed(who.orgId, logoKey), publishWhenProcessed(who.orgId, heroKey)]);

    const again = await stack.internal("publish", { orgId: who.orgId, key: heroKey });
    const unpublished = await stack.internal("unpublish", { orgId: who.orgId, key: heroKey });
    const released = await stack.internal("release", { orgId: who.orgId, keys: [logoKey] });

    expect(again).toEqual(hero);
    expect(unpublished).toEqual({ status: 200, body: { deleted: renditionsOf(hero.body).length } });
    expect(released).toMatchObject({ status: 200, body: { released: 1 } });
    for (const url of [...renditionsOf(hero.body), ...renditionsOf(logo.body)]) expect((await fetch(url)).status).toBe(404);
    expect((await fetch(`${stack.api}/minisite/${who.orgId}`)).status).toBe(404);
  });

  it("a member's progress photo cannot be published: 403 FORBIDDEN", async () => {
    const who = await admin();
    const key = await linkedUpload(who, "progress_photo", phoneJpeg(400, 300));

    const reply = await stack.internal("publish", { orgId: who.orgId, key });

    expect(reply).toMatchObject({ status: 403, body: { error: { code: "FORBIDDEN" } } });
  });
});
