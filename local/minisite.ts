/**
 * `GET /minisite/{orgId}` on the local stack: an organisation's public page, built only from what
 * it published (its published records and public rendition URLs) — no session, no signed URL. It
 * shows the logo and a full-width hero the way a fast page should: `srcset`/`sizes` so a phone
 * loads a phone-sized file, intrinsic `width`/`height` so nothing shifts, `fetchpriority="high"`
 * on the hero (the page's largest paint), and the ThumbHash painted behind it while it loads.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { isSafeSegment } from "@fitkit/core/policies/object-keys";
import { publishedAnswer } from "@fitkit/core/publishing/publish";
import type { PublishedItem, PublishedMedia } from "@fitkit/core/publishing/published-media";
import { thumbHashToDataURL } from "thumbhash";

const PATH = /^\/minisite\/([^/]+)$/;

export const escapeHtml = (value: string): string =>
  value.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);

/** The logo's displayed height in CSS pixels (its `sizes` follows from its aspect ratio). */
const LOGO_HEIGHT = 48;

function picture(item: PublishedItem, baseUrl: string, attributes: { className: string; sizes: string; alt: string; hero: boolean }): string {
  const answer = publishedAnswer(item, baseUrl);
  const placeholder = attributes.hero ? thumbHashToDataURL(Buffer.from(answer.placeholder, "base64")) : null;
  const sources = answer.sources.map((s) => `<source type="${s.type}" srcset="${escapeHtml(s.srcset)}" sizes="${escapeHtml(attributes.sizes)}">`).join("");
  const img = [
    `<img class="${attributes.className}"`,
    `src="${escapeHtml(answer.url)}"`,
    `srcset="${escapeHtml(answer.srcset)}"`,
    `sizes="${escapeHtml(attributes.sizes)}"`,
    `width="${answer.width}" height="${answer.height}"`,
    `alt="${escapeHtml(attributes.alt)}"`,
    attributes.hero ? `fetchpriority="high" decoding="async"` : `decoding="async"`,
    placeholder ? `style="background-image:url(${placeholder})" onload="this.style.backgroundImage='none'"` : "",
    ">",
  ]
    .filter(Boolean)
    .join(" ");
  return `<picture>${sources}${img}</picture>`;
}

/** The minisite's markup around its two images, shared with the naive page the bench compares it with. */
export function minisitePage(orgId: string, images: { logo: string; hero: string }): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(orgId)}</title>
<style>
  body { margin: 0; font-family: system-ui, sans-serif; }
  header { display: flex; align-items: center; gap: 12px; padding: 12px 16px; }
  .logo { height: ${LOGO_HEIGHT}px; width: auto; }
  .hero { display: block; width: 100%; height: auto; background-size: cover; }
</style>
</head>
<body>
<header>${images.logo}<h1>${escapeHtml(orgId)}</h1></header>
<main>${images.hero}</main>
</body>
</html>
`;
}

/**
 * The page of `orgId`'s published `items`, or null when there is nothing to show. It shows one
 * logo and one hero: the first published `organization_logo` and `minisite_media` in key order (an
 * app replacing its logo unpublishes the old one, as the demo's `POST /dev/publish` does).
 */
export function minisiteHtml(orgId: string, items: PublishedItem[], baseUrl: string): string | null {
  const logo = items.find((i) => i.ownerType === "organization_logo");
  const hero = items.find((i) => i.ownerType === "minisite_media");
  if (!logo && !hero) return null;
  const logoWidth = logo ? Math.round((LOGO_HEIGHT * logo.width) / logo.height) : 0;
  return minisitePage(orgId, {
    logo: logo ? picture(logo, baseUrl, { className: "logo", sizes: `${logoWidth}px`, alt: `${orgId} logo`, hero: false }) : "",
    hero: hero ? picture(hero, baseUrl, { className: "hero", sizes: "100vw", alt: "", hero: true }) : "",
  });
}

export function createMinisiteRoute(deps: { published: () => Promise<PublishedMedia>; baseUrl: string }) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<boolean> => {
    const match = PATH.exec(new URL(req.url ?? "/", "http://localhost").pathname);
    if (!match || req.method !== "GET") return false;
    const orgId = match[1]!;
    const html = isSafeSegment(orgId) ? minisiteHtml(orgId, await (await deps.published()).publishedItems(orgId), deps.baseUrl) : null;
    res.writeHead(html ? 200 : 404, { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" });
    res.end(html ?? "<!doctype html><title>Not found</title><p>This organisation has published nothing.</p>");
    return true;
  };
}
