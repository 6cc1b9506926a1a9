/**
 * The local stack's demo page and its dev-only helper routes (served only by the local stack,
 * never deployed):
 *
 * - `GET /`                 the page (plain HTML; no framework)
 * - `GET /demo/app.js`      the page script (page.ts, which imports signature-pad.ts and dom.ts) with
 *                           the client module (client/), bundled by esbuild on
 *                           first request and kept in memory
 * - `GET /demo/app.css`     its styles
 * - `POST /dev/token`       `{ userId, orgId?, role?, claims?, expiresInSeconds? }` → `{ token,
 *                           expiresAt }`, signed with the dev key this stack verifies with (refused
 *                           when CLERK_JWT_KEY points at a real Clerk instance); `npm run dev:token`
 *                           asks here first, so it needs no UPLOADS_DATA_DIR of its own
 * - `POST /dev/link`        `{ uploadIds, ownerType }` with a bearer token → `consume` as that user,
 *                           with a generated idempotency key (what an app's backend does on its
 *                           parent write)
 * - `POST /dev/signature-token` `{ formId, submissionId, ttlSeconds? }` with an admin's bearer token →
 *                           `issue-signature-token` for the admin's organisation → `{ token, path,
 *                           expiresAt }` (what an app's backend does when it asks someone to sign)
 * - `POST /dev/publish`     `{ keys }` with an admin's bearer token → `publish` of each linked logo or
 *                           minisite image for the admin's organisation, then `unpublish` of the
 *                           org's other published items of those owner types (what an app's backend
 *                           does when an admin sets the logo or the hero) → `{ published, unpublished,
 *                           minisite }`; a key still being processed answers `409 STILL_PROCESSING`
 *
 * The dev routes answer only same-origin JSON requests from loopback: a page on another origin
 * cannot have them run (a JSON body needs a CORS preflight, which this server never grants). A
 * loopback socket is not enough: a tunnel or reverse proxy on the same host also connects from
 * loopback, so a request that carries a forwarding header (`Forwarded`, `X-Forwarded-*`,
 * `X-Real-IP`, `Via`, …) or a `Host` other than a loopback name is refused too.
 */
import { randomUUID } from "node:crypto";
import { readFile } from "node:fs/promises";
import type { IncomingMessage, ServerResponse } from "node:http";
import { fileURLToPath } from "node:url";
import type { Authenticator, Identity } from "@fitkit/core/auth/identity";
import { type ErrorCode, HTTP_STATUS_BY_CODE, UploadError } from "@fitkit/core/errors";
import { parseObjectKey, SAFE_SEGMENT } from "@fitkit/core/policies/object-keys";
import { isOwnerType, isRole, OWNER_TYPE_POLICIES, OWNER_TYPES, ROLES } from "@fitkit/core/policies/owner-types";
import type { PublishedMedia } from "@fitkit/core/publishing/published-media";
import type { InternalOperationName } from "../../stacks/functions.js";
import { signDevToken } from "../dev-auth.js";
import { type InternalOperation, lambdaContext, parseRequestTarget } from "../server.js";
import { type DemoConfig, FAVICON, renderPage } from "./page-html.js";

export interface DemoContext {
  /** The API's own origin, e.g. http://127.0.0.1:3000. */
  api: string;
  /** The internal operations, callable in-process (e.g. consume for the dev-only link route). */
  internal: Record<string, InternalOperation>;
  /** The dev signing key, or null when CLERK_JWT_KEY points at a real Clerk instance. */
  devPrivateKeyPem: string | null;
  /** Verifies session tokens exactly as the deployed handlers do. */
  authenticator: Authenticator;
  /** The published records (read-only here): which items a new logo or hero replaces. */
  published: () => Promise<Pick<PublishedMedia, "publishedItems">>;
}

type DemoHandler = (req: IncomingMessage, res: ServerResponse, body: Buffer) => Promise<boolean>;

const DEV_TOKEN_TTL_SECONDS = 3600;
const DEV_TOKEN_MAX_TTL_SECONDS = 7 * 86_400;
/** A signing link's default lifetime (the internal operation's own default). */
const SIGNATURE_LINK_TTL_SECONDS = 86_400;
/** A logo and a hero: what the demo's Minisite section publishes in one request. */
const MAX_PUBLISH_KEYS = 10;
const PAGE_SCRIPT = fileURLToPath(new URL("./page.ts", import.meta.url));
const PAGE_STYLES = fileURLToPath(new URL("./app.css", import.meta.url));

/** Returns a handler for the demo's routes; it answers false for any request it does not serve. */
export function createDemoRoutes(context: DemoContext): DemoHandler {
  const port = new URL(context.api).port;
  const sameOrigins = new Set([context.api, `http://localhost:${port}`]);
  const config: DemoConfig = {
    devTokens: context.devPrivateKeyPem !== null,
    roles: [...ROLES],
    ownerTypes: OWNER_TYPES.map((name) => ({
      name,
      createRoles: [...OWNER_TYPE_POLICIES[name].createRoles],
      types: Object.keys(OWNER_TYPE_POLICIES[name].maxBytesByType),
      maxBytes: Math.max(...Object.values(OWNER_TYPE_POLICIES[name].maxBytesByType)),
    })),
  };
  const html = renderPage(config);
  let bundle: Promise<string> | undefined;
  let styles: Promise<string> | undefined;

  const routes: Record<string, (req: IncomingMessage, res: ServerResponse, body: Buffer) => Promise<void>> = {
    "GET /": async (_req, res) => send(res, 200, "text/html; charset=utf-8", html, { "content-security-policy": CONTENT_SECURITY_POLICY }),
    // Pages that name no icon (the minisite, /docs) get the same one instead of a 404.
    "GET /favicon.ico": async (_req, res) => send(res, 200, "image/svg+xml", decodeURIComponent(FAVICON.slice(FAVICON.indexOf(",") + 1))),
    "GET /demo/app.js": async (_req, res) => {
      bundle ??= bundlePage().catch((error: unknown) => {
        bundle = undefined; // try again on the next request (e.g. after fixing a syntax error)
        throw error;
      });
      try {
        send(res, 200, "text/javascript; charset=utf-8", await bundle);
      } catch (error) {
        send(res, 500, "text/javascript; charset=utf-8", `console.error(${JSON.stringify(`demo bundle failed: ${(error as Error).message}`)});`);
      }
    },
    "GET /demo/app.css": async (_req, res) => {
      styles ??= readFile(PAGE_STYLES, "utf8");
      send(res, 200, "text/css; charset=utf-8", await styles);
    },
    "POST /dev/token": async (_req, res, body) => {
      if (!context.devPrivateKeyPem) {
        return fail(res, "FORBIDDEN", "Dev tokens are off: CLERK_JWT_KEY points at a real Clerk instance. Sign in through Clerk instead.");
      }
      const input = jsonObject(body);
      if (!input) return fail(res, "INVALID_REQUEST", "The body must be a JSON object.");
      const problems: { path: string; message: string }[] = [];
      const userId = input.userId;
      const orgId = input.orgId ?? null;
      const role = input.role ?? "member";
      const claims = input.claims ?? "v2";
      const expiresInSeconds = input.expiresInSeconds ?? DEV_TOKEN_TTL_SECONDS;
      if (typeof userId !== "string" || !SAFE_SEGMENT.test(userId)) problems.push({ path: "userId", message: "1–128 of A–Z, a–z, 0–9, _ or -" });
      if (orgId !== null && (typeof orgId !== "string" || !SAFE_SEGMENT.test(orgId)))
        problems.push({ path: "orgId", message: "1–128 of A–Z, a–z, 0–9, _ or - (or null for no organisation)" });
      if (typeof role !== "string" || !isRole(role)) problems.push({ path: "role", message: `one of ${ROLES.join(", ")}` });
      if (claims !== "v1" && claims !== "v2") problems.push({ path: "claims", message: "v1 (org_id, org_role) or v2 (o: { id, rol })" });
      if (!Number.isInteger(expiresInSeconds) || (expiresInSeconds as number) < 1 || (expiresInSeconds as number) > DEV_TOKEN_MAX_TTL_SECONDS)
        problems.push({ path: "expiresInSeconds", message: `an integer from 1 to ${DEV_TOKEN_MAX_TTL_SECONDS}` });
      if (problems.length > 0) return fail(res, "INVALID_REQUEST", "Invalid dev token request.", problems);
      const token = await signDevToken(context.devPrivateKeyPem, {
        userId: userId as string,
        ...(orgId ? { orgId: orgId as string, role: role as string } : {}),
        claims: claims as "v1" | "v2",
        expiresInSeconds: expiresInSeconds as number,
      });
      sendJson(res, 200, { token, expiresAt: new Date(Date.now() + (expiresInSeconds as number) * 1000).toISOString() });
    },
    "POST /dev/link": async (req, res, body) => {
      const identity = await authenticate(req, res);
      if (!identity) return;
      const input = jsonObject(body);
      if (!input) return fail(res, "INVALID_REQUEST", "The body must be a JSON object.");
      const { uploadIds, ownerType } = input;
      const problems: { path: string; message: string }[] = [];
      if (!Array.isArray(uploadIds) || uploadIds.length === 0 || !uploadIds.every((id) => typeof id === "string"))
        problems.push({ path: "uploadIds", message: "a non-empty array of upload ids" });
      if (typeof ownerType !== "string" || !isOwnerType(ownerType)) problems.push({ path: "ownerType", message: `one of ${OWNER_TYPES.join(", ")}` });
      if (problems.length > 0) return fail(res, "INVALID_REQUEST", "Invalid link request.", problems);
      if (!identity.orgId) return fail(res, "FORBIDDEN", "An active organisation is required to link uploads.");
      // What an app's backend does on its parent write: consume as the signed-in user (the owner
      // of a form signature is the organisation), exactly once under its own idempotency key.
      const owner = ownerType === "form_signature" ? { orgId: identity.orgId } : { orgId: identity.orgId, userId: identity.userId };
      await invokeInternal(res, "consume", { uploadIds, ownerType, owner, idempotencyKey: `demo-link-${randomUUID()}` });
    },
    "POST /dev/signature-token": async (req, res, body) => {
      const identity = await authenticate(req, res);
      if (!identity) return;
      const input = jsonObject(body);
      if (!input) return fail(res, "INVALID_REQUEST", "The body must be a JSON object.");
      if (identity.role !== "admin") return fail(res, "FORBIDDEN", "Only an organisation admin may create a signing link.");
      if (!identity.orgId) return fail(res, "FORBIDDEN", "An active organisation is required to create a signing link.");
      // What an app's backend does when it asks someone to sign: a single-use link for one
      // submission of one form of the admin's own organisation (never an org from the body).
      // The internal operation validates formId, submissionId and ttlSeconds (400 with details).
      const { formId, submissionId, ttlSeconds = SIGNATURE_LINK_TTL_SECONDS } = input;
      await invokeInternal(res, "issue-signature-token", { orgId: identity.orgId, formId, submissionId, ttlSeconds });
    },
    "POST /dev/publish": async (req, res, body) => {
      const identity = await authenticate(req, res);
      if (!identity) return;
      const keys = jsonObject(body)?.keys;
      if (!Array.isArray(keys) || keys.length === 0 || keys.length > MAX_PUBLISH_KEYS || !keys.every((key) => typeof key === "string"))
        return fail(res, "INVALID_REQUEST", "Invalid publish request.", [{ path: "keys", message: `an array of 1 to ${MAX_PUBLISH_KEYS} upload keys` }]);
      if (identity.role !== "admin") return fail(res, "FORBIDDEN", "Only an organisation admin may publish.");
      if (!identity.orgId) return fail(res, "FORBIDDEN", "An active organisation is required to publish.");
      const orgId = identity.orgId;
      // The publish operation checks each key (this org's, a publishable type, processed).
      const published: unknown[] = [];
      for (const key of keys as string[]) {
        const reply = await callInternal("publish", { orgId, key });
        if (reply.status !== 200) return sendJson(res, reply.status, reply.body);
        published.push({ key, ...(reply.body as object) });
      }
      // One logo and one hero: what was published before under the same owner types goes.
      const ownerTypes = new Set(
        (keys as string[]).map((key) => {
          const parsed = parseObjectKey(key); // a media key: publish accepted it
          return parsed?.bucket === "media" ? parsed.ownerType : null;
        }),
      );
      const replaced = (await (await context.published()).publishedItems(orgId)).filter((item) => ownerTypes.has(item.ownerType) && !keys.includes(item.key));
      for (const item of replaced) {
        const reply = await callInternal("unpublish", { orgId, key: item.key });
        if (reply.status !== 200) return sendJson(res, reply.status, reply.body);
      }
      sendJson(res, 200, { published, unpublished: replaced.map((item) => item.key), minisite: `/minisite/${orgId}` });
    },
  };

  /** The verified identity of the bearer token, or null after answering 401. */
  async function authenticate(req: IncomingMessage, res: ServerResponse): Promise<Identity | null> {
    const token = req.headers.authorization?.match(/^Bearer\s+(\S+)$/i)?.[1];
    try {
      return await context.authenticator.authenticate(token);
    } catch (error) {
      if (error instanceof UploadError) {
        fail(res, error.code, error.message);
        return null;
      }
      throw error;
    }
  }

  /** Runs an internal operation in-process: its reply and the status its HTTP transport gives it. */
  async function callInternal(name: InternalOperationName, payload: unknown): Promise<{ status: number; body: unknown }> {
    const operation = context.internal[name];
    if (!operation) return { status: 500, body: { error: { code: "INTERNAL", message: `The ${name} operation is not available.` } } };
    const result = await operation.handler(payload, lambdaContext(operation.functionName, operation.timeoutMs));
    const error = (result as { error?: { code: ErrorCode } } | null)?.error;
    return { status: error ? HTTP_STATUS_BY_CODE[error.code] : operation.successStatus, body: result };
  }

  /** Runs an internal operation in-process and answers with its reply, as its HTTP transport does. */
  async function invokeInternal(res: ServerResponse, name: InternalOperationName, payload: unknown): Promise<void> {
    const reply = await callInternal(name, payload);
    sendJson(res, reply.status, reply.body);
  }

  return async (req, res, body) => {
    const path = parseRequestTarget(req.url)?.pathname;
    if (path === undefined) return false;
    const routeKey = `${req.method} ${path}`;
    const route = Object.hasOwn(routes, routeKey) ? routes[routeKey] : undefined;
    if (!route) return false;
    if (path.startsWith("/dev/")) {
      const refusal = devRouteRefusal(req, sameOrigins);
      if (refusal) {
        fail(res, "FORBIDDEN", refusal);
        return true;
      }
    }
    await route(req, res, body);
    return true;
  };
}

/** Why a dev route must not run for this request, or null. */
function devRouteRefusal(req: IncomingMessage, sameOrigins: ReadonlySet<string>): string | null {
  const address = req.socket.remoteAddress ?? "";
  if (!(address === "::1" || address.startsWith("127.") || address.startsWith("::ffff:127."))) return "Dev routes are served on loopback only.";
  const forwarded = Object.keys(req.headers).filter(isForwardingHeader);
  if (forwarded.length > 0) return `Dev routes are not served through a proxy or tunnel (${forwarded.join(", ")}).`;
  if (!isLoopbackHost(req.headers.host)) return "Dev routes are served to a loopback Host only (localhost, 127.0.0.1, [::1]).";
  if (!/^application\/json\b/i.test(req.headers["content-type"] ?? "")) return "Dev routes take a JSON body (content-type: application/json).";
  const origin = req.headers.origin;
  if (origin !== undefined && !sameOrigins.has(origin)) return "Dev routes are for the demo page's own origin.";
  return null;
}

/** Headers a proxy, load balancer or tunnel adds to say whom it forwards for (node lower-cases names). */
const FORWARDING_HEADERS: ReadonlySet<string> = new Set([
  "forwarded",
  "via",
  "x-real-ip",
  "x-client-ip",
  "x-cluster-client-ip",
  "true-client-ip",
  "cf-connecting-ip",
  "fastly-client-ip",
  "x-original-forwarded-for",
  "x-original-host",
]);
const isForwardingHeader = (name: string): boolean => FORWARDING_HEADERS.has(name) || name.startsWith("x-forwarded-");

/** `localhost`, `127.x.y.z` or `[::1]`, with or without a port; anything else (or none) is not loopback. */
function isLoopbackHost(host: string | undefined): boolean {
  const match = /^(\[::1\]|[^:]+)(?::\d{1,5})?$/.exec(host ?? "");
  if (!match) return false;
  const name = match[1]!.toLowerCase();
  return name === "localhost" || name === "[::1]" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(name);
}

/**
 * The page talks to its own origin and to storage (any origin: the embedded S3 or a real R2
 * endpoint); it runs only its own bundled script.
 */
const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self' http: https:",
  "img-src 'self' blob: data: http: https:",
  "media-src 'self' blob: http: https:",
  "object-src 'none'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join("; ");

async function bundlePage(): Promise<string> {
  const { build } = await import("esbuild");
  const result = await build({
    entryPoints: [PAGE_SCRIPT],
    bundle: true,
    write: false,
    format: "esm",
    // The browser platform also proves the client imports nothing of Node's.
    platform: "browser",
    target: ["es2020"],
    sourcemap: "inline",
    logLevel: "silent",
  });
  return result.outputFiles[0]!.text;
}

function jsonObject(body: Buffer): Record<string, unknown> | null {
  try {
    const value: unknown = JSON.parse(body.toString("utf8"));
    return value && typeof value === "object" && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

function send(res: ServerResponse, status: number, contentType: string, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { "content-type": contentType, "cache-control": "no-store", "x-content-type-options": "nosniff", ...headers });
  res.end(body);
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  send(res, status, "application/json; charset=utf-8", JSON.stringify(body));
}

function fail(res: ServerResponse, code: ErrorCode, message: string, details?: unknown[]): void {
  sendJson(res, HTTP_STATUS_BY_CODE[code], { error: { code, message, ...(details ? { details } : {}) } });
}
