/**
 * Checks real replies against the committed API document (docs/openapi.json): the reply's status
 * must be documented for the operation, and its JSON body must match that status's schema. A reply
 * that drifts from the document (a new field, a missing one, an undocumented status or error code)
 * fails the test that received it.
 */
import { readFileSync } from "node:fs";
import { Ajv2020, type ErrorObject } from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import { expect } from "vitest";
import { postJson } from "./http.js";

const DOCUMENT_ID = "https://fitkit.local/openapi.json";
const document = JSON.parse(readFileSync(new URL("../../docs/openapi.json", import.meta.url), "utf8")) as {
  paths: Record<string, Record<string, { responses: Record<string, { content?: Record<string, unknown> }> }>>;
};

// strict: false — the document carries OpenAPI keywords (paths, responses, …) around its schemas.
const ajv = new Ajv2020({ strict: false, allErrors: true });
(addFormats as unknown as (ajv: Ajv2020) => void)(ajv);
ajv.addSchema(document, DOCUMENT_ID);

const pointer = (...segments: string[]) => segments.map((s) => `/${s.replaceAll("~", "~0").replaceAll("/", "~1")}`).join("");

/** The documented path template that `pathname` is an instance of (`/public/signatures/abc` → `/public/signatures/{token}`). */
export function documentedPath(pathname: string): string | undefined {
  const matching = Object.keys(document.paths).filter((template) => new RegExp(`^${template.replace(/\{[^}]+\}/g, "[^/]+")}$`).test(pathname));
  // A literal segment wins over a parameter (`/uploads/policy` is not `/uploads/{uploadId}`), as in the router.
  const parameters = (template: string) => (template.match(/\{/g) ?? []).length;
  return matching.sort((a, b) => parameters(a) - parameters(b))[0];
}

/** Fails unless `reply` (status and parsed JSON body) is a documented reply of `method url`. */
export function expectDocumentedReply(method: string, url: string, reply: { status: number; body: unknown }): void {
  const pathname = new URL(url, "http://localhost").pathname;
  const template = documentedPath(pathname);
  expect(template, `${method} ${pathname} is not in docs/openapi.json`).toBeDefined();
  const operation = document.paths[template!]?.[method.toLowerCase()];
  expect(operation, `${method} ${template} is not in docs/openapi.json`).toBeDefined();
  const response = operation!.responses[String(reply.status)];
  expect(
    response,
    `${method} ${template} answered ${reply.status}, a status docs/openapi.json does not document for it: ${JSON.stringify(reply.body)}`,
  ).toBeDefined();
  if (response && !response.content) {
    expect(reply.body, `${method} ${template} ${reply.status} is documented without a body`).toBeNull();
    return;
  }
  const validate = ajv.getSchema(
    `${DOCUMENT_ID}#${pointer("paths", template!, method.toLowerCase(), "responses", String(reply.status), "content", "application/json", "schema")}`,
  );
  expect(validate, `${method} ${template} ${reply.status} has no JSON schema in docs/openapi.json`).toBeDefined();
  const valid = validate!(reply.body);
  expect(valid, `${method} ${template} ${reply.status} does not match docs/openapi.json: ${describe(validate!.errors)} in ${JSON.stringify(reply.body)}`).toBe(
    true,
  );
}

function describe(errors: ErrorObject[] | null | undefined): string {
  return (errors ?? []).map((e) => `${e.instancePath || "(body)"} ${e.message}${e.params ? ` ${JSON.stringify(e.params)}` : ""}`).join("; ");
}

/** `postJson`, with the reply checked against the document. */
export async function documentedPostJson(url: string, body: unknown, token?: string): ReturnType<typeof postJson> {
  const reply = await postJson(url, body, token);
  expectDocumentedReply("POST", url, reply);
  return reply;
}

/** A fetch whose JSON reply is checked against the document; answers status, headers and the parsed body. */
export async function documentedFetch(url: string, init: RequestInit = {}): Promise<{ status: number; headers: Headers; body: any }> {
  const res = await fetch(url, init);
  const text = await res.text();
  const reply = { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : null };
  expectDocumentedReply(init.method ?? "GET", url, reply);
  return reply;
}

/** The local stack's `internal(name, payload)`, with the reply checked against `POST /internal/<name>` of the document. */
export async function documentedInternal(
  stack: { api: string; internal(name: string, payload: unknown): Promise<{ status: number; body: any }> },
  name: string,
  payload: unknown,
): Promise<{ status: number; body: any }> {
  const reply = await stack.internal(name, payload);
  expectDocumentedReply("POST", `${stack.api}/internal/${name}`, reply);
  return reply;
}

/** Checks a fetch `Response` against the document without consuming it (the caller still reads its body). */
export async function expectDocumentedResponse(method: string, url: string, res: Response): Promise<Response> {
  const text = await res.clone().text();
  expectDocumentedReply(method, url, { status: res.status, body: text ? JSON.parse(text) : null });
  return res;
}
