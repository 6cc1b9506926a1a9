/**
 * The demo page's Minisite section in real Chromium against the local stack as `npm start` runs it:
 * an admin picks a logo and a hero, the page uploads them, links them (/dev/link), publishes them
 * (/dev/publish → the internal publish operation) and shows `GET /minisite/{orgId}`, whose hero the
 * browser picks from its srcset. Publishing another hero replaces the first one.
 */
import { mkdir } from "node:fs/promises";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LocalStack, startLocalStack } from "../support/local-stack.js";
import { phoneJpeg } from "../support/media.js";
import { gradientPng, launchChromium } from "./support/browser.js";
import { uniqueId } from "./support/fixtures.js";
import { errorBody } from "./support/http.js";

const SCREENSHOT = "test-output/browser-minisite.png";
/** Upload, processing and publishing in one flow: about 15 s alone, more when the 2 cores are shared. */
const BROWSER_FLOW_TIMEOUT_MS = 120_000;

let stack: LocalStack;
let browser: Browser;

beforeAll(async () => {
  [stack, browser] = await Promise.all([startLocalStack(), launchChromium()]);
}, 90_000);
afterAll(async () => {
  await browser?.close();
  await stack?.close();
});

interface Published {
  key: string;
  url: string;
  srcset: string;
  sources: { srcset: string }[];
}

/** Every rendition URL of a publish answer: the WebP srcset and any AVIF source. */
const renditionsOf = (answer: Published): string[] =>
  [answer.srcset, ...answer.sources.map((s) => s.srcset)].flatMap((srcset) => srcset.split(", ").map((entry) => entry.split(" ")[0]!));

async function signInAsAdmin(page: Page, orgId: string): Promise<void> {
  await page.goto(`${stack.api}/`);
  await page.fill("#user-id", uniqueId("user"));
  await page.fill("#org-id", orgId);
  await page.selectOption("#role", "admin");
  await page.click("#sign-in");
  await page.waitForFunction((org) => (window as any).fitkitDemo.identity?.orgId === org && (window as any).fitkitDemo.identity?.role === "admin", orgId);
}

/** Picks the files, clicks publish, waits for the section to finish; answers its state. */
async function publishFromSection(page: Page, files: { logo?: Buffer; hero?: Buffer }) {
  if (files.logo) await page.setInputFiles("#ms-logo", { name: "logo.png", mimeType: "image/png", buffer: files.logo });
  if (files.hero) await page.setInputFiles("#ms-hero", { name: "hero.jpg", mimeType: "image/jpeg", buffer: files.hero });
  await page.click("#ms-publish-button");
  await page.waitForFunction(() => ["published", "error"].includes((window as any).fitkitDemo.minisite.phase), undefined, { timeout: 60_000 });
  return page.evaluate(() => (window as any).fitkitDemo.minisite);
}

/** What a page showing the minisite rendered: the hero's chosen source and whether the logo shows. */
async function renderedMinisite(frame: Pick<Page, "locator">) {
  const hero = frame.locator("img.hero");
  const logo = frame.locator("img.logo");
  await hero.evaluate((img: HTMLImageElement) => img.decode());
  await logo.evaluate((img: HTMLImageElement) => img.decode());
  return {
    heroSrc: await hero.evaluate((img: HTMLImageElement) => img.currentSrc),
    logoSrc: await logo.evaluate((img: HTMLImageElement) => img.currentSrc),
    logoVisible: await logo.isVisible(),
    logoBox: await logo.evaluate((img: HTMLImageElement) => [img.naturalWidth > 0, img.getBoundingClientRect().height]),
  };
}

describe("the demo page's Minisite section", () => {
  it(
    "uploads, links and publishes a logo and a hero; the minisite shows the hero chosen from its srcset and the logo",
    async () => {
      const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
      const errors: string[] = [];
      page.on("pageerror", (error) => errors.push(String(error)));
      // While the images process the page waits on a status, not on failed requests (no red 409s).
      page.on("response", (response) => {
        if (response.status() >= 400) errors.push(`${response.status()} ${response.request().method()} ${new URL(response.url()).pathname}`);
      });
      const orgId = uniqueId("org");
      await signInAsAdmin(page, orgId);

      const state = await publishFromSection(page, { logo: gradientPng(400, 200), hero: phoneJpeg(1600, 1200) });

      expect(state.lastError).toBeNull();
      expect(state.phase).toBe("published");
      expect(state.keys.logo).toMatch(new RegExp(`^${orgId}/organization_logo/`));
      expect(state.keys.hero).toMatch(new RegExp(`^${orgId}/minisite_media/`));
      expect(state.minisite).toBe(`/minisite/${orgId}`);
      expect(state.replaced).toEqual([]);
      expect(await page.locator("#ms-steps li").evaluateAll((items) => items.map((li) => (li as HTMLElement).dataset.state))).toEqual(["done", "done", "done"]);
      // Orientation 6: the 1600×1200 photo is displayed 1200 wide — 320, 640 and 960 renditions.
      expect(state.published.hero.srcset.split(", ").map((e: string) => e.split(" ")[1])).toEqual(["320w", "640w", "960w"]);

      // In the section's 412 px frame (1x): the 640-wide rendition of the srcset, and the logo.
      expect(await page.getAttribute("#ms-open", "href")).toBe(`/minisite/${orgId}`);
      const framed = await renderedMinisite(page.frameLocator("#ms-frame"));
      expect(renditionsOf(state.published.hero)).toContain(framed.heroSrc);
      expect(framed.heroSrc).toMatch(/\/640\.(webp|avif)$/);
      expect(renditionsOf(state.published.logo)).toContain(framed.logoSrc);
      expect(framed.logoVisible).toBe(true);
      expect(framed.logoBox).toEqual([true, 48]);
      // The frame is as tall as the page it shows: no empty space under it.
      const [frameHeight, pageHeight] = await page.$eval("#ms-frame", (frame: HTMLIFrameElement) => [
        frame.clientHeight,
        frame.contentDocument!.documentElement.scrollHeight,
      ]);
      expect(frameHeight).toBe(pageHeight);

      // The link opens the public page on its own, no session: a 412 px phone at 2x picks the 960.
      const phone = await browser.newPage({ viewport: { width: 412, height: 823 }, deviceScaleFactor: 2 });
      try {
        const response = await phone.goto(new URL(`/minisite/${orgId}`, stack.api).href);
        expect(response?.status()).toBe(200);
        const opened = await renderedMinisite(phone);
        expect(renditionsOf(state.published.hero)).toContain(opened.heroSrc);
        expect(opened.heroSrc).toMatch(/\/960\.(webp|avif)$/);
        expect(opened.logoVisible).toBe(true);
      } finally {
        await phone.close();
      }
      await mkdir("test-output", { recursive: true });
      await page.locator("#minisite").screenshot({ path: SCREENSHOT });
      expect(errors).toEqual([]);
      await page.close();
    },
    BROWSER_FLOW_TIMEOUT_MS,
  );

  it(
    "publishing another hero replaces the first: its renditions go, the minisite shows the new one",
    async () => {
      const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
      const orgId = uniqueId("org");
      await signInAsAdmin(page, orgId);
      const first = await publishFromSection(page, { logo: gradientPng(300, 300), hero: phoneJpeg(800, 600) });
      expect(first.phase).toBe("published");
      await page.setInputFiles("#ms-logo", []);

      const second = await publishFromSection(page, { hero: phoneJpeg(1200, 900) });

      expect(second.lastError).toBeNull();
      expect(second.keys).toEqual({ hero: expect.stringMatching(new RegExp(`^${orgId}/minisite_media/`)) });
      expect(second.replaced).toEqual([first.keys.hero]);
      for (const url of renditionsOf(first.published.hero)) expect((await fetch(url)).status).toBe(404);
      const framed = await renderedMinisite(page.frameLocator("#ms-frame"));
      expect(renditionsOf(second.published.hero)).toContain(framed.heroSrc);
      // The logo was not replaced: it is still the first one.
      expect(renditionsOf(first.published.logo)).toContain(framed.logoSrc);
      await page.close();
    },
    BROWSER_FLOW_TIMEOUT_MS,
  );

  it("POST /dev/publish is for admins of an organisation, with 1–10 keys of their own linked uploads", async () => {
    const orgId = uniqueId("org");
    const post = async (body: unknown, token: string) => {
      const res = await fetch(`${stack.api}/dev/publish`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
        body: JSON.stringify(body),
      });
      return { status: res.status, body: await res.json() };
    };
    const member = await stack.token({ userId: uniqueId("user"), orgId, role: "member" });
    const admin = await stack.token({ userId: uniqueId("user"), orgId, role: "admin" });
    const key = `${orgId}/minisite_media/user_x/${"0".repeat(32)}.jpg`;

    expect(await post({ keys: [key] }, member)).toEqual({ status: 403, body: errorBody("FORBIDDEN") });
    expect(await post({ keys: [] }, admin)).toMatchObject({ status: 400, body: { error: { code: "INVALID_REQUEST", details: [{ path: "keys" }] } } });
    expect(await post({ keys: [key] }, admin)).toEqual({ status: 404, body: errorBody("NOT_FOUND") });
    expect(await post({ keys: [`org_other/minisite_media/user_x/${"0".repeat(32)}.jpg`] }, admin)).toEqual({ status: 403, body: errorBody("FORBIDDEN") });
  });
});
