/**
 * The local stack's HTTP front: turns Node requests into the events the deployed handlers receive
 * (API Gateway v2 for the public routes, the invoke payload for internal operations) and their
 * replies back into HTTP. The handlers are the same modules that are deployed.
 */
import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { type ErrorBody, type ErrorCode, HTTP_STATUS_BY_CODE } from "@fitkit/core/errors";
import { constantTimeEqual } from "@fitkit/core/hashing";
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from "aws-lambda";
import type { ApiCorsRule } from "../stacks/cors.js";

export type HttpHandler = (event: APIGatewayProxyEventV2, context: Context) => Promise<APIGatewayProxyStructuredResultV2 | undefined>;
export type InternalHandler = (payload: unknown, context: Context) => Promise<unknown>;

/** An internal operation as this transport serves it: the deployed handler and its status of success. */
export interface InternalOperation {
  handler: InternalHandler;
  /** Lambda invoke has no status; over HTTP a success is this (201 for one that creates). */
  successStatus: number;
  /** The deployed function's name (its key in the function table), for its context and logs. */
  functionName: string;
  /** The deployed function's timeout: what its context reports as remaining time. */
  timeoutMs: number;
}

export interface Route {
  method: string;
  /** A path with `{param}` segments, as in API Gateway. */
  path: string;
  handler: HttpHandler;
  /** The deployed function's name (its key in the function table), for its context and logs. */
  functionName: string;
  /** The deployed function's timeout: what its context reports as remaining time. */
  timeoutMs: number;
}

export interface LocalServerOptions {
  routes: Route[];
  /** By operation name: `POST /internal/<name>`. */
  internal: Record<string, InternalOperation>;
  internalApiKey: string;
  /** The deployed API's CORS rule (stacks/cors.ts) for the configured app origins; the API routes only. */
  cors?: ApiCorsRule;
  /** Extra non-Lambda routes of the local stack (e.g. the demo page); return false when not matched. */
  extra?: (req: IncomingMessage, res: ServerResponse, body: Buffer) => Promise<boolean>;
}

/** API Gateway's payload limit; larger bodies are refused before any handler runs. */
const MAX_BODY_BYTES = 10 * 1024 * 1024;

export function lambdaContext(functionName: string, timeoutMs: number): Context {
  const started = Date.now();
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: "$LATEST",
    invokedFunctionArn: `arn:aws:lambda:local:000000000000:function:${functionName}`,
    memoryLimitInMB: "1024",
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: "local",
    getRemainingTimeInMillis: () => Math.max(0, timeoutMs - (Date.now() - started)),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

function errorReply(res: ServerResponse, code: ErrorCode, message: string): void {
  sendJson(res, HTTP_STATUS_BY_CODE[code], { error: { code, message } });
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { "content-type": "application/json; charset=utf-8", "cache-control": "no-store" });
  res.end(JSON.stringify(body));
}

async function readBody(req: IncomingMessage): Promise<Buffer | null> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) return null;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

function matchPath(pattern: string, path: string): Record<string, string> | null {
  const want = pattern.split("/");
  const got = path.split("/");
  if (want.length !== got.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < want.length; i++) {
    const segment = want[i]!;
    if (segment.startsWith("{") && segment.endsWith("}")) {
      if (!got[i]) return null;
      try {
        params[segment.slice(1, -1)] = decodeURIComponent(got[i]!);
      } catch {
        return null; // malformed %-escapes: no such route (404), as API Gateway would not match it either
      }
    } else if (segment !== got[i]) return null;
  }
  return params;
}

/**
 * The request target as a URL, or null when it is none (`http://[/` makes `new URL` throw): a
 * bad request (400), never a 500. Origin-form (`/path`) and absolute-form targets both parse.
 */
export function parseRequestTarget(target: string | undefined): URL | null {
  try {
    return new URL(target ?? "/", "http://localhost");
  } catch {
    return null;
  }
}

const isLoopback = (address: string | undefined): boolean =>
  !!address && (address === "::1" || address.startsWith("127.") || address.startsWith("::ffff:127."));

const isTextBody = (contentType: string | undefined): boolean => !!contentType && /^(application\/json|text\/)/i.test(contentType);

function apiGatewayEvent(req: IncomingMessage, url: URL, route: Route, params: Record<string, string>, body: Buffer): APIGatewayProxyEventV2 {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined) headers[name.toLowerCase()] = Array.isArray(value) ? value.join(",") : value;
  }
  const text = isTextBody(headers["content-type"]);
  const routeKey = `${route.method} ${route.path}`;
  return {
    version: "2.0",
    routeKey,
    rawPath: url.pathname,
    rawQueryString: url.search.slice(1),
    headers,
    ...(url.search ? { queryStringParameters: Object.fromEntries(url.searchParams) } : {}),
    ...(Object.keys(params).length > 0 ? { pathParameters: params } : {}),
    requestContext: {
      accountId: "000000000000",
      apiId: "local",
      domainName: url.host,
      domainPrefix: "local",
      http: {
        method: route.method,
        path: url.pathname,
        protocol: `HTTP/${req.httpVersion}`,
        sourceIp: req.socket.remoteAddress ?? "127.0.0.1",
        userAgent: headers["user-agent"] ?? "",
      },
      requestId: randomUUID(),
      routeKey,
      stage: "$default",
      time: new Date().toUTCString(),
      timeEpoch: Date.now(),
    },
    ...(body.length > 0 ? { body: text ? body.toString("utf8") : body.toString("base64"), isBase64Encoded: !text } : { isBase64Encoded: false }),
  };
}

async function serveInternal(options: LocalServerOptions, req: IncomingMessage, res: ServerResponse, name: string, body: Buffer): Promise<void> {
  if (!isLoopback(req.socket.remoteAddress)) return errorReply(res, "FORBIDDEN", "Internal operations are served on loopback only.");
  const key = req.headers["x-internal-key"];
  if (typeof key !== "string" || !constantTimeEqual(key, options.internalApiKey)) {
    return errorReply(res, "UNAUTHENTICATED", "A valid x-internal-key header is required.");
  }
  const operation = Object.hasOwn(options.internal, name) ? options.internal[name] : undefined;
  if (!operation || req.method !== "POST") return errorReply(res, "NOT_FOUND", "No such internal operation.");
  let payload: unknown;
  try {
    payload = body.length === 0 ? {} : JSON.parse(body.toString("utf8"));
  } catch {
    return errorReply(res, "INVALID_REQUEST", "The body is not valid JSON.");
  }
  const result = await operation.handler(payload, lambdaContext(operation.functionName, operation.timeoutMs));
  const error = (result as Partial<ErrorBody> | null)?.error;
  sendJson(res, error ? HTTP_STATUS_BY_CODE[error.code] : operation.successStatus, result);
}

/**
 * CORS as API Gateway answers it: a preflight (`OPTIONS` with `access-control-request-method`)
 * from an allowed origin gets 204 with the rule; any other request from one gets its origin
 * allowed and the rule's headers exposed. Other origins get no CORS header (the browser refuses).
 * Returns true when the request was a preflight and has been answered.
 */
function applyCors(rule: ApiCorsRule | undefined, req: IncomingMessage, res: ServerResponse): boolean {
  const origin = req.headers.origin;
  if (!rule || !origin || !(rule.allowOrigins.includes(origin) || rule.allowOrigins.includes("*"))) return false;
  res.setHeader("access-control-allow-origin", origin);
  res.setHeader("vary", "origin");
  if (req.method === "OPTIONS" && req.headers["access-control-request-method"]) {
    res.writeHead(204, {
      "access-control-allow-methods": rule.allowMethods.join(","),
      "access-control-allow-headers": rule.allowHeaders.join(","),
      "access-control-max-age": String(rule.maxAgeSeconds),
    });
    res.end();
    return true;
  }
  res.setHeader("access-control-expose-headers", rule.exposeHeaders.join(","));
  return false;
}

/**
 * The server can listen before its handlers exist (the embedded S3's CORS needs the API's origin,
 * known only once bound); until `current()` returns options it answers 503.
 */
export function createLocalServer(current: () => LocalServerOptions | null): Server {
  return createServer((req, res) => {
    void (async () => {
      const options = current();
      if (!options) return errorReply(res, "DEPENDENCY_UNAVAILABLE", "The local stack is starting.");
      const url = parseRequestTarget(req.url);
      if (!url) return errorReply(res, "INVALID_REQUEST", "The request target is not a valid URL.");
      const body = await readBody(req);
      if (body === null) return errorReply(res, "TOO_LARGE", "The request body is too large.");
      if (url.pathname.startsWith("/internal/")) return serveInternal(options, req, res, url.pathname.slice("/internal/".length), body);
      const isApiRoute = options.routes.some((route) => matchPath(route.path, url.pathname));
      if (isApiRoute && applyCors(options.cors, req, res)) return;
      for (const route of options.routes) {
        if (route.method !== req.method) continue;
        const params = matchPath(route.path, url.pathname);
        if (!params) continue;
        const result = await route.handler(apiGatewayEvent(req, url, route, params, body), lambdaContext(route.functionName, route.timeoutMs));
        const reply = result ?? { statusCode: 500 };
        res.writeHead(reply.statusCode ?? 200, reply.headers as Record<string, string>);
        return void res.end(reply.body === undefined ? undefined : reply.isBase64Encoded ? Buffer.from(reply.body, "base64") : reply.body);
      }
      if (options.extra && (await options.extra(req, res, body))) return;
      errorReply(res, "NOT_FOUND", "No such route.");
    })().catch((error: unknown) => {
      console.error(JSON.stringify({ level: "ERROR", message: "local server error", error: String(error) }));
      if (!res.headersSent) errorReply(res, "INTERNAL", "Internal error.");
      else res.destroy();
    });
  });
}
