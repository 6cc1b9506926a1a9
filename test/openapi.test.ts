/**
 * The API document (docs/openapi.json): generated from the function table and the use-cases' zod
 * schemas, committed, valid OpenAPI 3.1, complete (every route, internal operation and error
 * code), and served with a readable reference page by the local stack.
 */
import { readFile } from "node:fs/promises";
import SwaggerParser from "@apidevtools/swagger-parser";
import { ERROR_CODES, HTTP_STATUS_BY_CODE } from "@fitkit/core/contract/catalog";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildOpenApiDocument, type OpenApiDocument, serializeOpenApiDocument } from "../scripts/openapi/document.js";
import { OPERATION_DOCS } from "../scripts/openapi/operations.js";
import { FUNCTIONS, type FunctionSpec, SUCCESS_STATUS } from "../stacks/functions.js";
import { type LocalStack, startLocalStack } from "../support/local-stack.js";
import { launchChromium } from "./support/browser.js";
import { expectDocumentedReply, expectDocumentedResponse } from "./support/openapi.js";

const committedText = () => readFile(new URL("../docs/openapi.json", import.meta.url), "utf8");
const committed = async () => JSON.parse(await committedText()) as OpenApiDocument;

/** `POST /uploads` for each routed function, `POST /internal/<key>` for each internal one (queue subscribers have no API). */
const servedBy = (key: string, spec: FunctionSpec): string | null => (spec.route ? spec.route : spec.internal ? `POST /internal/${key}` : null);

describe("the API document", () => {
  it("docs/openapi.json is exactly what `npm run openapi` generates now (run it after changing a schema or route)", async () => {
    expect(await committedText()).toBe(serializeOpenApiDocument(buildOpenApiDocument()));
  });

  it("is a valid OpenAPI 3.1 document", async () => {
    const document = await committed();
    // validate() dereferences in place: give it a copy.
    await expect(SwaggerParser.validate(structuredClone(document) as never)).resolves.toMatchObject({ openapi: "3.1.0" });
  });

  it("documents every route and internal operation of the function table, and nothing else", async () => {
    const document = await committed();
    const served = Object.entries(FUNCTIONS as Record<string, FunctionSpec>).flatMap(([key, spec]) => servedBy(key, spec) ?? []);
    const documented = Object.entries(document.paths).flatMap(([path, operations]) =>
      Object.keys(operations).map((method) => `${method.toUpperCase()} ${path}`),
    );
    expect(documented.sort()).toEqual(served.sort());
  });

  it("fails to build, naming the route and where to document it, when a function has no documented operation", () => {
    const withNewRoute: Record<string, FunctionSpec> = {
      ...FUNCTIONS,
      "upload-rename": { handler: "functions/upload-rename.handler", route: "POST /uploads/{uploadId}/rename", links: ["Clerk"] },
    };
    expect(() => buildOpenApiDocument(withNewRoute)).toThrow(
      '"POST /uploads/{uploadId}/rename" (function "upload-rename" in stacks/functions.ts) has no documented operation: add OPERATION_DOCS["upload-rename"] to scripts/openapi/operations.ts',
    );
    const { usage: _, ...withoutUsageDoc } = OPERATION_DOCS;
    expect(() => buildOpenApiDocument(FUNCTIONS, withoutUsageDoc)).toThrow(
      '"POST /internal/usage" (function "usage" in stacks/functions.ts) has no documented operation',
    );
  });

  it("documents a route answering 204 without a body and one answering an HTML page", async () => {
    const functions: Record<string, FunctionSpec> = {
      ...FUNCTIONS,
      "upload-abort": { handler: "functions/upload-abort.handler", route: "DELETE /uploads/{uploadId}", links: ["Clerk"] },
      "minisite-page": { handler: "functions/minisite-page.handler", route: "GET /public/minisites/{slug}", links: [] },
    };
    const document = buildOpenApiDocument(
      functions,
      {
        ...OPERATION_DOCS,
        "upload-abort": { summary: "Abort an upload", tag: "uploads", response: null, errors: ["NOT_FOUND"] },
        "minisite-page": { summary: "Show a minisite", tag: "health", response: { raw: "text/html" }, errors: ["NOT_FOUND"] },
      },
      { ...SUCCESS_STATUS, "upload-abort": 204, "minisite-page": 200 },
    );

    expect(document.paths["/uploads/{uploadId}"]?.delete?.responses).toMatchObject({ "204": { description: "Success, no body." } });
    expect(document.paths["/uploads/{uploadId}"]?.delete?.parameters).toEqual([{ name: "uploadId", in: "path", required: true, schema: { type: "string" } }]);
    expect(document.paths["/public/minisites/{slug}"]?.get).toMatchObject({
      security: [],
      responses: { "200": { content: { "text/html": { schema: { type: "string" } } } } },
    });
    await expect(SwaggerParser.validate(structuredClone(document) as never)).resolves.toMatchObject({ openapi: "3.1.0" });
  });

  it("fails to build when a documented operation's function is gone", () => {
    const { health: _, ...withoutHealth } = FUNCTIONS;
    expect(() => buildOpenApiDocument(withoutHealth)).toThrow(
      'OPERATION_DOCS["health"] in scripts/openapi/operations.ts documents no routed or internal function',
    );
  });

  it("marks internal operations internal, behind the internal key; app routes need a Clerk session; public routes need nothing", async () => {
    const document = await committed();
    const securityOf = Object.fromEntries(
      Object.entries(document.paths).flatMap(([path, operations]) =>
        Object.entries(operations).map(([method, operation]) => [
          `${method.toUpperCase()} ${path}`,
          { security: operation.security, internal: operation["x-fitkit-internal"] ?? false, tags: operation.tags },
        ]),
      ),
    );
    const internal = { security: [{ internalKey: [] }], internal: true, tags: ["internal"] };
    expect(securityOf).toEqual({
      "POST /uploads": { security: [{ clerkSession: [] }], internal: false, tags: ["uploads"] },
      "POST /uploads/signed-urls": { security: [{ clerkSession: [] }], internal: false, tags: ["uploads"] },
      "GET /uploads/policy": { security: [{ clerkSession: [] }], internal: false, tags: ["uploads"] },
      "POST /uploads/{uploadId}/parts": { security: [{ clerkSession: [] }], internal: false, tags: ["uploads"] },
      "GET /uploads/{uploadId}/parts": { security: [{ clerkSession: [] }], internal: false, tags: ["uploads"] },
      "POST /uploads/{uploadId}/complete": { security: [{ clerkSession: [] }], internal: false, tags: ["uploads"] },
      "DELETE /uploads/{uploadId}": { security: [{ clerkSession: [] }], internal: false, tags: ["uploads"] },
      "PUT /public/signatures/{token}": { security: [], internal: false, tags: ["signatures"] },
      "POST /public/signatures/{token}/uploads": { security: [], internal: false, tags: ["signatures"] },
      "POST /public/signatures/{token}/complete": { security: [], internal: false, tags: ["signatures"] },
      "GET /health": { security: [], internal: false, tags: ["health"] },
      "POST /internal/consume": internal,
      "POST /internal/release": internal,
      "POST /internal/publish": internal,
      "POST /internal/unpublish": internal,
      "POST /internal/erase-user": internal,
      "POST /internal/erase-org": internal,
      "POST /internal/export-user": internal,
      "POST /internal/orphan-audit": internal,
      "POST /internal/issue-signature-token": internal,
      "POST /internal/usage": internal,
      "POST /internal/set-quota": internal,
      "POST /internal/sweeper": internal,
    });
    expect(document.components.securitySchemes).toMatchObject({
      clerkSession: { type: "http", scheme: "bearer" },
      internalKey: { type: "apiKey", in: "header", name: "x-internal-key" },
    });
  });

  it("documents every error code of the error table, each under its own status", async () => {
    const document = await committed();
    const documented = new Map<string, Set<string>>();
    for (const operations of Object.values(document.paths))
      for (const operation of Object.values(operations))
        for (const [status, response] of Object.entries(operation.responses as Record<string, any>)) {
          if (Number(status) < 400) continue;
          for (const code of response.content["application/json"].schema.properties.error.properties.code.enum as string[])
            documented.set(code, (documented.get(code) ?? new Set()).add(status));
        }
    expect(Object.fromEntries([...documented].map(([code, statuses]) => [code, [...statuses]]))).toEqual(
      Object.fromEntries(ERROR_CODES.map((code) => [code, [String(HTTP_STATUS_BY_CODE[code])]])),
    );
  });
});

describe("checking replies against the document (test/support/openapi.ts)", () => {
  const usage = { used: 0, reserved: 10, quota: 100 };

  it("accepts a documented reply", () => {
    expectDocumentedReply("POST", "/internal/usage", { status: 200, body: usage });
    expectDocumentedReply("PUT", "/public/signatures/abc", { status: 409, body: { error: { code: "TOKEN_USED", message: "used" } } });
  });

  it("refuses a reply with a field the document does not have, or without one it requires", () => {
    expect(() => expectDocumentedReply("POST", "/internal/usage", { status: 200, body: { ...usage, extra: 1 } })).toThrow(/does not match docs\/openapi.json/);
    expect(() => expectDocumentedReply("POST", "/internal/usage", { status: 200, body: { used: 0, reserved: 10 } })).toThrow(
      /must have required property 'quota'/,
    );
  });

  it("refuses an undocumented status, an error code the status does not carry, and an undocumented route", () => {
    expect(() => expectDocumentedReply("POST", "/internal/usage", { status: 201, body: usage })).toThrow(
      /answered 201, a status docs\/openapi.json does not document/,
    );
    expect(() => expectDocumentedReply("POST", "/uploads", { status: 410, body: { error: { code: "EXPIRED", message: "x" } } })).toThrow(/answered 410/);
    expect(() => expectDocumentedReply("POST", "/uploads", { status: 403, body: { error: { code: "TOKEN_USED", message: "x" } } })).toThrow(
      /must be equal to one of the allowed values/,
    );
    expect(() => expectDocumentedReply("GET", "/nope", { status: 200, body: {} })).toThrow(/GET \/nope is not in docs\/openapi.json/);
  });
});

describe("the API reference on the local stack", () => {
  let stack: LocalStack;
  beforeAll(async () => {
    stack = await startLocalStack();
  }, 30_000);
  afterAll(async () => {
    await stack?.close();
  });

  it("GET /openapi.json serves the committed document", async () => {
    const res = await fetch(`${stack.api}/openapi.json`);
    expect({ status: res.status, type: res.headers.get("content-type"), body: await res.text() }).toEqual({
      status: 200,
      type: "application/json; charset=utf-8",
      body: await committedText(),
    });
  });

  it("GET /health answers its documented reply", async () => {
    const res = await expectDocumentedResponse("GET", "/health", await fetch(`${stack.api}/health`));
    expect(await res.json()).toEqual({ ok: true });
  });

  it("GET /docs renders every operation, internal ones included, in Chromium with nothing loaded from another origin and no console error", async () => {
    const browser = await launchChromium();
    try {
      const page = await browser.newPage();
      const offOrigin: string[] = [];
      // A CSP refusal (Scalar's hosted proxy, AI agent) is a console error.
      const consoleErrors: string[] = [];
      page.on("console", (message) => {
        if (message.type() === "error") consoleErrors.push(message.text());
      });
      page.on("pageerror", (error) => consoleErrors.push(String(error)));
      await page.route("**/*", (route) => {
        const url = route.request().url();
        if (url.startsWith(`${stack.api}/`)) return route.continue();
        offOrigin.push(url);
        return route.abort();
      });
      await page.goto(`${stack.api}/docs`);
      await page.getByText("Presign uploads").first().waitFor({ timeout: 30_000 });
      await page.getByRole("heading", { name: "FitKit Uploads API" }).first().waitFor({ timeout: 10_000 });
      await page
        .getByRole("button", { name: /^internal/ })
        .first()
        .click();
      // The internal group lists every internal operation of the document (none hidden as x-internal).
      const internalPaths = Object.keys((await committed()).paths).filter((path) => path.startsWith("/internal/"));
      for (const path of internalPaths) await page.getByText(path, { exact: true }).first().waitFor({ timeout: 10_000 });
      // Scalar's hosted-only controls do nothing offline: not shown.
      const hostedControls = await page.getByRole("button", { name: /^(Ask AI|Share|Deploy|Developer Tools|Configure)$/ }).count();

      expect(internalPaths).toEqual(expect.arrayContaining(["/internal/consume", "/internal/sweeper", "/internal/orphan-audit"]));
      expect(hostedControls).toBe(0);
      expect(consoleErrors).toEqual([]);
      expect(offOrigin).toEqual([]);
    } finally {
      await browser.close();
    }
  }, 60_000);
});
