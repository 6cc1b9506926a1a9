/**
 * The middy stack for HTTP routes (API Gateway v2), assembled once: context-aware logging, the
 * error mapper, Clerk authentication and zod validation of the JSON body. A route only supplies
 * its schema and the one core call it makes.
 */
import type { Identity } from "@fitkit/core/auth/identity";
import { InvalidRequestError } from "@fitkit/core/errors";
import middy, { type MiddlewareObj } from "@middy/core";
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from "aws-lambda";
import type { z } from "zod";
import { authenticator } from "./deps/authenticator.js";
import { invalidRequestFrom, mapError } from "./errors.js";
import { withLogContext } from "./logger.js";
import { TIME_LIMIT } from "./time-limit.js";

export type HttpEvent = APIGatewayProxyEventV2;
export type HttpResult = APIGatewayProxyStructuredResultV2;

export interface RouteContext<Body> extends Context {
  caller: Identity;
  body: Body;
}

const SECURITY_HEADERS = {
  "content-type": "application/json; charset=utf-8",
  "cache-control": "no-store",
  "x-content-type-options": "nosniff",
};

export function json(statusCode: number, body: unknown, headers: Record<string, string> = {}): HttpResult {
  // 204 No Content carries no body (a DELETE's reply)
  if (statusCode === 204) return { statusCode, headers: { ...SECURITY_HEADERS, ...headers } };
  return { statusCode, headers: { ...SECURITY_HEADERS, ...headers }, body: JSON.stringify(body) };
}

/** A path parameter as the route's pattern captured it ("" when absent: the use-case's schema refuses it). */
export const pathParameter = (event: HttpEvent, name: string): string => event.pathParameters?.[name] ?? "";

/** Raw request body bytes (API Gateway v2 base64-encodes binary bodies). */
export function bodyBytes(event: HttpEvent): Buffer {
  if (event.body === undefined || event.body === null) return Buffer.alloc(0);
  return event.isBase64Encoded ? Buffer.from(event.body, "base64") : Buffer.from(event.body, "utf8");
}

export const header = (event: HttpEvent, name: string): string | undefined => {
  const wanted = name.toLowerCase();
  for (const [key, value] of Object.entries(event.headers ?? {})) if (key.toLowerCase() === wanted) return value;
  return undefined;
};

/** Error mapper: the docs/API.md body and status for anything thrown (with Retry-After for 429). */
export const errorResponse = (): MiddlewareObj<HttpEvent, HttpResult> => ({
  onError: async (request) => {
    const error = mapError(request.error);
    const retryAfter = "retryAfterSeconds" in error ? { "retry-after": String(error.retryAfterSeconds) } : undefined;
    request.response = json(error.status, error.toBody(), retryAfter);
  },
});

/** Verifies the Clerk bearer token and puts the identity on the context. */
export const clerkAuth = (): MiddlewareObj<HttpEvent, HttpResult, Error, RouteContext<unknown>> => ({
  before: async (request) => {
    const authorization = header(request.event, "authorization");
    const token = authorization?.match(/^Bearer\s+(\S+)$/i)?.[1];
    request.context.caller = await authenticator().authenticate(token);
  },
});

/** Parses the JSON body and validates it with `schema`; 400 INVALID_REQUEST with the issues otherwise. */
export const jsonBody = <S extends z.ZodType>(schema: S): MiddlewareObj<HttpEvent, HttpResult, Error, RouteContext<z.output<S>>> => ({
  before: async (request) => {
    let parsed: unknown;
    try {
      parsed = JSON.parse(bodyBytes(request.event).toString("utf8"));
    } catch {
      throw new InvalidRequestError("The body is not valid JSON.", [{ path: "", message: "malformed JSON" }]);
    }
    const result = schema.safeParse(parsed);
    if (!result.success) throw invalidRequestFrom(result.error);
    request.context.body = result.data;
  },
});

/** An authenticated JSON route: auth → body → `handle` → JSON reply. */
export function authenticatedJsonRoute<S extends z.ZodType>(
  schema: S,
  handle: (identity: Identity, body: z.output<S>, event: HttpEvent) => Promise<{ status: number; body: unknown }>,
): (event: HttpEvent, context: Context) => Promise<HttpResult> {
  const route = middy<HttpEvent, HttpResult, Error, RouteContext<z.output<S>>>(TIME_LIMIT)
    .use(errorResponse())
    .use(clerkAuth())
    .use(jsonBody(schema))
    .handler(async (event, context) => {
      const reply = await handle(context.caller, context.body, event);
      return json(reply.status, reply.body);
    });
  // The route context (caller, body) is filled in by the middlewares above.
  return (event, context) => withLogContext(context, () => route(event, context as RouteContext<z.output<S>>));
}

/** An authenticated route without a body (GET): auth → `handle` → JSON reply. */
export function authenticatedRoute(
  handle: (identity: Identity, event: HttpEvent) => Promise<{ status: number; body: unknown }>,
): (event: HttpEvent, context: Context) => Promise<HttpResult> {
  const route = middy<HttpEvent, HttpResult, Error, RouteContext<unknown>>(TIME_LIMIT)
    .use(errorResponse())
    .use(clerkAuth())
    .handler(async (event, context) => {
      const reply = await handle(context.caller, event);
      return json(reply.status, reply.body);
    });
  return (event, context) => withLogContext(context, () => route(event, context as RouteContext<unknown>));
}

/** A public route (no session): `handle` gets the raw event and answers status and JSON body. */
export function publicRoute(
  handle: (event: HttpEvent) => Promise<{ status: number; body: unknown }>,
): (event: HttpEvent, context: Context) => Promise<HttpResult> {
  const route = middy<HttpEvent, HttpResult>(TIME_LIMIT)
    .use(errorResponse())
    .handler(async (event) => {
      const reply = await handle(event);
      return json(reply.status, reply.body);
    });
  return (event, context) => withLogContext(context, () => route(event, context));
}

/** A public JSON route (no session): the body is parsed and validated with `schema` (400 otherwise). */
export function publicJsonRoute<S extends z.ZodType>(
  schema: S,
  handle: (event: HttpEvent, body: z.output<S>) => Promise<{ status: number; body: unknown }>,
): (event: HttpEvent, context: Context) => Promise<HttpResult> {
  const route = middy<HttpEvent, HttpResult, Error, RouteContext<z.output<S>>>(TIME_LIMIT)
    .use(errorResponse())
    .use(jsonBody(schema))
    .handler(async (event, context) => {
      const reply = await handle(event, context.body);
      return json(reply.status, reply.body);
    });
  // The body is filled in by jsonBody above; no caller on a public route.
  return (event, context) => withLogContext(context, () => route(event, context as RouteContext<z.output<S>>));
}
