/**
 * The minisite part of `npm run bench` (also alone: `npm run bench -- --only minisite [--quick]`): what
 * a phone gets from an organisation's public page. Lighthouse 12 drives Debian's Chromium on its
 * default mobile preset (Moto G Power: 412×823 CSS px at 1.75×, simulated slow 4G and 4× CPU
 * slowdown) against the real local stack, where an admin published a camera-like 12-MP hero and a
 * logo. The same page built naively — the same markup and styles, but each image the full-size
 * `original` through a signed URL, with no srcset and no width/height — is served by the bench
 * itself and measured in the same run, runs alternating. Reported: LCP, CLS, bytes of the page
 * and of the hero, and the ratios; the goals are LCP ≥ 2× better than naive, CLS 0, hero ≤ 100 KB.
 *
 * Throttling is Lighthouse's default `simulate` (Lantern): the page loads at full speed on
 * loopback and the metrics are computed from the observed requests and CPU work on the modelled
 * network and device, so a 2-core machine shared with other jobs still gives repeatable figures
 * (`devtools` throttling would make each naive run wait out ~4 MB on a 1.6 Mbps link, and its
 * timings would carry the machine's noise).
 */
import { createServer } from "node:http";
import * as chromeLauncher from "chrome-launcher";
import lighthouse from "lighthouse";
import sharp from "sharp";
import { escapeHtml, minisitePage } from "../local/minisite.js";
import { startLocalStack } from "../support/local-stack.js";
import { median } from "./stats.js";

const CHROMIUM = "/usr/bin/chromium";
const HERO_WIDTH = 4000;
const HERO_HEIGHT = 3000;
const LOGO_SIZE = 512;
const PUBLISH_RETRY_MS = 250;
const PUBLISH_TIMEOUT_MS = 120_000;

export interface MinisitePlan {
  quick: boolean;
  /** Lighthouse runs per page; the median of each metric is reported. */
  runs: number;
  pages: ("minisite" | "naive")[];
  formFactor: "mobile";
  throttlingMethod: "simulate";
  chromeFlags: string[];
  /**
   * How long the trace goes on after the load event. A 12-MP JPEG is decoded off the main thread
   * after it has loaded, seconds later on a busy machine: with Lighthouse's default 1 s the trace
   * can end before it is painted, and the naive page's LCP would be its heading's.
   */
  pauseAfterLoadMs: number;
  goals: { lcpNaiveOverMinisiteAtLeast: number; cls: number; heroBytesAtMost: number };
}

export const minisitePlan = (quick: boolean): MinisitePlan => ({
  quick,
  runs: quick ? 1 : 3,
  pages: ["minisite", "naive"],
  formFactor: "mobile",
  throttlingMethod: "simulate",
  chromeFlags: ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run"],
  pauseAfterLoadMs: 6000,
  goals: { lcpNaiveOverMinisiteAtLeast: 2, cls: 0, heroBytesAtMost: 100_000 },
});

const round = (value: number, digits = 2) => Number(value.toFixed(digits));
const withoutQuery = (url: string) => url.split("?")[0]!;

/**
 * A camera-like 12-MP landscape photo: a sky-to-ground gradient with a sun and hills, under
 * luminance texture at four scales (from cloud-sized blobs to sensor grain), so it keeps detail
 * when scaled down as a photo does (plain noise would average away) — about 4 MB as JPEG q90.
 */
async function heroPhoto(): Promise<Buffer> {
  const [w, h] = [HERO_WIDTH, HERO_HEIGHT];
  const scene = `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}">
    <defs><linearGradient id="sky" x1="0" y1="0" x2="0" y2="1">
      <stop offset="0" stop-color="#7fa6d6"/><stop offset="0.55" stop-color="#e8c9a0"/><stop offset="0.56" stop-color="#5d6b3a"/><stop offset="1" stop-color="#2f3820"/>
    </linearGradient></defs>
    <rect width="100%" height="100%" fill="url(#sky)"/>
    <circle cx="${w * 0.7}" cy="${h * 0.3}" r="${h * 0.08}" fill="#fff3c4"/>
    <path d="M0 ${h * 0.6} L${w * 0.2} ${h * 0.38} L${w * 0.42} ${h * 0.58} L${w * 0.6} ${h * 0.42} L${w} ${h * 0.62} L${w} ${h} L0 ${h} Z" fill="#3d4a5a" opacity="0.8"/>
  </svg>`;
  /** Grey gaussian noise made at `scale` of the photo's size and scaled up: texture of that grain. */
  const texture = async (scale: number, sigma: number) => {
    const [tw, th] = [Math.round(w * scale), Math.round(h * scale)];
    const noise = await sharp({ create: { width: tw, height: th, channels: 3, background: "#808080", noise: { type: "gaussian", mean: 128, sigma } } })
      .grayscale()
      .raw()
      .toBuffer();
    return sharp(noise, { raw: { width: tw, height: th, channels: 1 } })
      .resize(w, h, { kernel: "cubic" })
      .toColourspace("srgb")
      .raw()
      .toBuffer();
  };
  const layers = [await texture(0.01, 70), await texture(0.0625, 50), await texture(0.25, 40), await texture(1, 24)];
  const base = await sharp(Buffer.from(scene)).resize(w, h).removeAlpha().raw().toBuffer();
  return sharp(base, { raw: { width: w, height: h, channels: 3 } })
    .composite(layers.map((input) => ({ input, raw: { width: w, height: h, channels: 3 as const }, blend: "soft-light" as const })))
    .jpeg({ quality: 90 })
    .toBuffer();
}

/** A square PNG logo: a ring and a bar on a coloured tile (shapes only: no font needed). */
function logoPng(): Promise<Buffer> {
  const s = LOGO_SIZE;
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${s}" height="${s}">
    <rect width="${s}" height="${s}" rx="${s * 0.18}" fill="#2f6fed"/>
    <circle cx="${s / 2}" cy="${s / 2}" r="${s * 0.3}" fill="none" stroke="#fff" stroke-width="${s * 0.08}"/>
    <rect x="${s * 0.18}" y="${s * 0.46}" width="${s * 0.64}" height="${s * 0.08}" fill="#ffd23f"/>
  </svg>`;
  return sharp(Buffer.from(svg)).png().toBuffer();
}

interface PageMetrics {
  lcpMs: number;
  cls: number;
  totalBytes: number;
  heroBytes: number;
  /** The hero file the browser chose (its path's last segment: a rendition, or the original). */
  heroFile: string;
  requests: number;
  /** The largest paint came after the hero had loaded (so it is the hero's, not the heading's). */
  lcpIsHero: boolean;
}

/** One Lighthouse run of `url`; `isHero` tells the hero's request among the page's. */
async function measure(url: string, port: number, plan: MinisitePlan, isHero: (url: string) => boolean): Promise<PageMetrics> {
  const result = await lighthouse(url, {
    port,
    output: "json",
    logLevel: "error",
    onlyCategories: ["performance"],
    throttlingMethod: plan.throttlingMethod,
    pauseAfterLoadMs: plan.pauseAfterLoadMs,
  });
  const lhr = result?.lhr;
  if (!lhr) throw new Error(`Lighthouse gave no result for ${url}`);
  if (lhr.runtimeError) throw new Error(`Lighthouse failed on ${url}: ${lhr.runtimeError.code} ${lhr.runtimeError.message}`);
  if (lhr.configSettings.formFactor !== plan.formFactor || lhr.configSettings.throttlingMethod !== plan.throttlingMethod)
    throw new Error(`Lighthouse ran ${lhr.configSettings.formFactor}/${lhr.configSettings.throttlingMethod}, not the plan's preset`);
  const numeric = (id: string) => {
    const value = lhr.audits[id]?.numericValue;
    if (typeof value !== "number") throw new Error(`Lighthouse audit ${id} has no value for ${url}`);
    return value;
  };
  const requests =
    (lhr.audits["network-requests"]?.details as { items?: { url: string; transferSize?: number; networkEndTime?: number }[] } | undefined)?.items ?? [];
  const heroes = requests.filter((r) => isHero(withoutQuery(r.url)));
  if (heroes.length !== 1) throw new Error(`expected one hero request on ${url}, saw ${heroes.length}`);
  const hero = heroes[0]!;
  const observed = (lhr.audits.metrics?.details as { items?: { observedLargestContentfulPaint?: number; observedNavigationStart?: number }[] } | undefined)
    ?.items?.[0];
  return {
    lcpMs: numeric("largest-contentful-paint"),
    cls: numeric("cumulative-layout-shift"),
    totalBytes: numeric("total-byte-weight"),
    heroBytes: hero.transferSize ?? 0,
    heroFile: withoutQuery(hero.url).split("/").at(-1)!,
    requests: requests.length,
    lcpIsHero: (observed?.observedLargestContentfulPaint ?? 0) >= (hero.networkEndTime ?? Number.POSITIVE_INFINITY),
  };
}

const summarise = (runs: PageMetrics[]) => ({
  lcpMs: round(median(runs.map((r) => r.lcpMs)), 0),
  cls: round(median(runs.map((r) => r.cls)), 3),
  totalBytes: median(runs.map((r) => r.totalBytes)),
  heroBytes: median(runs.map((r) => r.heroBytes)),
  heroFile: runs[0]!.heroFile,
  requests: runs[0]!.requests,
  lcpIsHeroEveryRun: runs.every((r) => r.lcpIsHero),
});

/** Presigns, PUTs and links `bytes` as the admin's upload of `ownerType`; answers its key. */
async function linkedUpload(
  stack: Awaited<ReturnType<typeof startLocalStack>>,
  admin: { orgId: string; userId: string; token: string },
  ownerType: string,
  bytes: Buffer,
  contentType: string,
): Promise<string> {
  const presigned = await fetch(`${stack.api}/uploads`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${admin.token}` },
    body: JSON.stringify({ ownerType, files: [{ contentType, size: bytes.length }] }),
  });
  if (presigned.status !== 201) throw new Error(`presign answered ${presigned.status}: ${await presigned.text()}`);
  const upload = ((await presigned.json()) as { uploads: { uploadId: string; key: string; url: string; headers: Record<string, string> }[] }).uploads[0]!;
  const put = await fetch(upload.url, { method: "PUT", headers: upload.headers, body: bytes as BodyInit });
  if (put.status !== 200) throw new Error(`PUT answered ${put.status}`);
  const consumed = await stack.internal("consume", {
    uploadIds: [upload.uploadId],
    ownerType,
    owner: { orgId: admin.orgId, userId: admin.userId },
    idempotencyKey: `bench-minisite-${upload.uploadId}`,
  });
  if (consumed.status !== 200) throw new Error(`consume answered ${consumed.status}`);
  return upload.key;
}

interface PublishAnswer {
  url: string;
  srcset: string;
  sources: { srcset: string }[];
}

/** `publish`, asked again while the image is being processed (a 12-MP photo takes seconds). */
async function publishWhenProcessed(stack: Awaited<ReturnType<typeof startLocalStack>>, orgId: string, key: string): Promise<PublishAnswer> {
  const deadline = Date.now() + PUBLISH_TIMEOUT_MS;
  for (;;) {
    const reply = await stack.internal("publish", { orgId, key }, PUBLISH_TIMEOUT_MS);
    if (reply.status === 200) return reply.body as PublishAnswer;
    // STILL_PROCESSING: process-media has not recorded the image yet (NOT_UPLOADED before STILL_PROCESSING existed).
    const waiting = reply.status === 409 && ["STILL_PROCESSING", "NOT_UPLOADED"].includes(reply.body?.error?.code);
    if (!waiting || Date.now() > deadline) throw new Error(`publish answered ${reply.status}: ${JSON.stringify(reply.body)}`);
    await new Promise((resolve) => setTimeout(resolve, PUBLISH_RETRY_MS));
  }
}

const renditionUrls = (answer: PublishAnswer) =>
  [answer.srcset, ...answer.sources.map((s) => s.srcset)].flatMap((srcset) => srcset.split(", ").map((entry) => withoutQuery(entry.split(" ")[0]!)));

/** The same page, built naively: each image's full-size `original` through a signed URL, no srcset, no width/height. */
async function serveNaivePage(html: string): Promise<{ url: string; close(): Promise<void> }> {
  const server = createServer((_req, res) => {
    res.writeHead(200, { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" });
    res.end(html);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  return { url: `http://127.0.0.1:${port}/`, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

export async function benchMinisite(options: { quick: boolean }): Promise<Record<string, unknown>> {
  const plan = minisitePlan(options.quick);
  console.error("minisite: making a 12-MP hero photo…");
  const [hero, logo] = [await heroPhoto(), await logoPng()];
  const stack = await startLocalStack();
  let chrome: chromeLauncher.LaunchedChrome | undefined;
  let naiveServer: Awaited<ReturnType<typeof serveNaivePage>> | undefined;
  try {
    const admin = { orgId: "org_minisite_bench", userId: "user_minisite_admin", token: "" };
    admin.token = await stack.token({ userId: admin.userId, orgId: admin.orgId, role: "admin" });
    console.error("minisite: uploading, linking and publishing the logo and the hero…");
    const logoKey = await linkedUpload(stack, admin, "organization_logo", logo, "image/png");
    const heroKey = await linkedUpload(stack, admin, "minisite_media", hero, "image/jpeg");
    const [logoAnswer, heroAnswer] = [await publishWhenProcessed(stack, admin.orgId, logoKey), await publishWhenProcessed(stack, admin.orgId, heroKey)];

    const signed = await fetch(`${stack.api}/uploads/signed-urls`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${admin.token}` },
      body: JSON.stringify({ keys: [logoKey, heroKey], expiresIn: 3600, variant: "original" }),
    });
    const [logoOriginal, heroOriginal] = ((await signed.json()) as { urls: { status: string; url?: string }[] }).urls;
    if (logoOriginal?.status !== "ready" || heroOriginal?.status !== "ready") throw new Error("the originals are not ready to sign");
    naiveServer = await serveNaivePage(
      minisitePage(admin.orgId, {
        logo: `<img class="logo" src="${escapeHtml(logoOriginal.url!)}" alt="${escapeHtml(admin.orgId)} logo">`,
        hero: `<img class="hero" src="${escapeHtml(heroOriginal.url!)}" alt="">`,
      }),
    );
    const pages = {
      minisite: { url: `${stack.api}/minisite/${admin.orgId}`, isHero: (url: string) => renditionUrls(heroAnswer).includes(url) },
      naive: { url: naiveServer.url, isHero: (url: string) => url === withoutQuery(heroOriginal.url!) },
    };
    // The minisite shows what was just published (checked before it is timed).
    const html = await (await fetch(pages.minisite.url)).text();
    if (![heroAnswer.url, logoAnswer.url].every((url) => html.includes(url))) throw new Error("the minisite does not show the published logo and hero");

    chrome = await chromeLauncher.launch({ chromePath: CHROMIUM, chromeFlags: plan.chromeFlags });
    const runs: Record<"minisite" | "naive", PageMetrics[]> = { minisite: [], naive: [] };
    for (let run = 1; run <= plan.runs; run++) {
      for (const name of plan.pages) {
        console.error(`minisite: Lighthouse ${name} run ${run}/${plan.runs}…`);
        runs[name].push(await measure(pages[name].url, chrome.port, plan, pages[name].isHero));
      }
    }
    const minisite = summarise(runs.minisite);
    const naive = summarise(runs.naive);
    // What a browser without AVIF gets in the same slot: the WebP of the chosen width.
    const webpUrl = renditionUrls(heroAnswer).find((url) => url.endsWith(`/${minisite.heroFile.replace(/\.\w+$/, ".webp")}`));
    const webpBytes = webpUrl ? Number((await fetch(webpUrl, { method: "HEAD" })).headers.get("content-length")) : null;
    const lcpNaiveOverMinisite = round(naive.lcpMs / minisite.lcpMs, 1);
    return {
      quick: plan.quick,
      lighthouse: "12.2.3",
      preset: "mobile (Moto G Power, 412×823 at 1.75×)",
      throttlingMethod: plan.throttlingMethod,
      runsPerPage: plan.runs,
      heroSource: { width: HERO_WIDTH, height: HERO_HEIGHT, bytes: hero.length, originalServedBytes: runs.naive[0]!.heroBytes },
      minisite: { ...minisite, heroWebpBytes: webpBytes },
      naive,
      ratios: {
        lcpNaiveOverMinisite,
        heroBytesNaiveOverMinisite: round(naive.heroBytes / minisite.heroBytes, 1),
        totalBytesNaiveOverMinisite: round(naive.totalBytes / minisite.totalBytes, 1),
      },
      goals: plan.goals,
      met: {
        lcp: lcpNaiveOverMinisite >= plan.goals.lcpNaiveOverMinisiteAtLeast,
        cls: minisite.cls <= plan.goals.cls,
        heroBytes: minisite.heroBytes <= plan.goals.heroBytesAtMost,
      },
      samples: runs,
    };
  } finally {
    await chrome?.kill();
    await naiveServer?.close();
    await stack.close();
  }
}

/** The section's rows in the bench table. */
export function minisiteRows(m: any): [string, string][] {
  const kib = (bytes: number) => `${(bytes / 1024).toFixed(0)} KiB`;
  return [
    [
      `minisite (Lighthouse mobile, ${m.throttlingMethod}): LCP ms · CLS · total · hero (${m.minisite.heroFile})`,
      `${m.minisite.lcpMs} · ${m.minisite.cls} · ${kib(m.minisite.totalBytes)} · ${kib(m.minisite.heroBytes)}`,
    ],
    [
      `  naive page (original via signed URL): LCP ms · CLS · total · hero`,
      `${m.naive.lcpMs} · ${m.naive.cls} · ${kib(m.naive.totalBytes)} · ${kib(m.naive.heroBytes)}`,
    ],
    [
      "  LCP naive/minisite (goal ≥ 2×) · CLS 0 · hero ≤ 100 KB",
      `${m.ratios.lcpNaiveOverMinisite}× ${m.met.lcp ? "✓" : "✗"} · ${m.minisite.cls} ${m.met.cls ? "✓" : "✗"} · ${kib(m.minisite.heroBytes)} ${m.met.heroBytes ? "✓" : "✗"} (hero bytes ${m.ratios.heroBytesNaiveOverMinisite}× fewer)`,
    ],
  ];
}
