/**
 * The API's reference on the local stack (served only here, never deployed):
 *
 * - `GET /openapi.json`          the committed OpenAPI document (docs/openapi.json, `npm run openapi`)
 * - `GET /docs`                  a readable reference of it, rendered by Scalar's standalone bundle
 * - `GET /docs/standalone.js`    that bundle, from node_modules (no CDN: the page works offline)
 * - `GET /docs/init.js`          the page's own start-up script (no inline script, so a strict CSP holds)
 */
import { readFile } from "node:fs/promises";
import type { IncomingMessage, ServerResponse } from "node:http";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

const DOCUMENT = fileURLToPath(new URL("../docs/openapi.json", import.meta.url));
const SCALAR_BUNDLE = createRequire(import.meta.url).resolve("@scalar/api-reference/browser/standalone.js");

const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>FitKit Uploads API</title>
</head>
<body>
<div id="app"></div>
<script src="/docs/standalone.js"></script>
<script src="/docs/init.js"></script>
</body>
</html>
`;

/**
 * Nothing that needs the network or Scalar's hosted services: its CDN fonts, its "try it" client
 * (which goes through its proxy), the "Ask AI" agent (which asks its registry through that proxy),
 * and the developer toolbar (its share and deploy menus) are all off. The page shows every
 * operation, the internal ones included (the document marks them with a tag, not `x-internal`).
 */
const SCALAR_CONFIGURATION = {
  url: "/openapi.json",
  withDefaultFonts: false,
  hideClientButton: true,
  telemetry: false,
  agent: { disabled: true },
  showDeveloperTools: "never",
};
const INIT = `Scalar.createApiReference("#app", ${JSON.stringify(SCALAR_CONFIGURATION)});\n`;

/** Scalar styles its elements inline and loads nothing but its own origin. */
const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "worker-src 'self' blob:",
  "object-src 'none'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join("; ");

type ExtraRoutes = (req: IncomingMessage, res: ServerResponse) => Promise<boolean>;

/** Answers the reference routes; false for any other request. Files are read on each request, so a regenerated document shows on reload. */
export function createApiReferenceRoutes(): ExtraRoutes {
  const routes: Record<string, () => Promise<{ type: string; body: string | Buffer; headers?: Record<string, string> }>> = {
    "GET /openapi.json": async () => ({ type: "application/json; charset=utf-8", body: await readFile(DOCUMENT) }),
    "GET /docs": async () => ({ type: "text/html; charset=utf-8", body: PAGE, headers: { "content-security-policy": CONTENT_SECURITY_POLICY } }),
    "GET /docs/standalone.js": async () => ({ type: "text/javascript; charset=utf-8", body: await readFile(SCALAR_BUNDLE) }),
    "GET /docs/init.js": async () => ({ type: "text/javascript; charset=utf-8", body: INIT }),
  };
  return async (req, res) => {
    const routeKey = `${req.method} ${new URL(req.url ?? "/", "http://localhost").pathname}`;
    const route = Object.hasOwn(routes, routeKey) ? routes[routeKey] : undefined;
    if (!route) return false;
    const reply = await route();
    res.writeHead(200, { "content-type": reply.type, "cache-control": "no-store", "x-content-type-options": "nosniff", ...reply.headers });
    res.end(reply.body);
    return true;
  };
}
