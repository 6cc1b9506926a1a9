/**
 * The OpenAPI 3.1 document of the API, built from the function table (`stacks/functions.ts`: every
 * route, every internal operation as `POST /internal/<operation>`), the operation notes in
 * `operations.ts` (whose request and reply schemas are the use-cases' own zod schemas, turned into
 * JSON Schema 2020-12 by zod's `z.toJSONSchema`) and the error table (`HTTP_STATUS_BY_CODE`).
 * `npm run openapi` writes it to docs/openapi.json; test/openapi.test.ts fails when that file is stale.
 */
import { type ErrorCode, errorBodySchemaFor, HTTP_STATUS_BY_CODE } from "@fitkit/core/errors";
import * as z from "zod";
import { FUNCTIONS, type FunctionSpec, SUCCESS_STATUS, type SuccessStatus } from "../../stacks/functions.js";
import { OPERATION_DOCS, type OperationDoc, type OperationTag, SHARED_SCHEMAS } from "./operations.js";

/** The local stack's header for internal operations (deployed, they are invoked through Lambda with IAM). */
export const INTERNAL_KEY_HEADER = "x-internal-key";

type JsonObject = Record<string, unknown>;

export interface OpenApiDocument extends JsonObject {
  openapi: "3.1.0";
  paths: Record<string, Record<string, JsonObject>>;
  components: { schemas: Record<string, JsonObject>; securitySchemes: Record<string, JsonObject> };
}

/** One documented operation: where it is served and which notes describe it. */
interface PlannedOperation {
  functionKey: string;
  method: string;
  path: string;
  name: string;
  internal: boolean;
  /** Verifies a Clerk session (the function is linked to Clerk). */
  clerk: boolean;
  successStatus: SuccessStatus;
  doc: OperationDoc;
}

const TAGS: { name: OperationTag; description: string }[] = [
  { name: "uploads", description: "For apps, with the signed-in user's Clerk session token." },
  { name: "signatures", description: "Public, token-gated routes for signatories without an account." },
  { name: "health", description: "Liveness." },
  {
    name: "internal",
    description: `For the services that write parent records. Deployed, these are Lambda functions invoked with IAM (the payload is the request body; an error is returned as the error body). The local stack serves each as \`POST /internal/<operation>\` behind the \`${INTERNAL_KEY_HEADER}\` header.`,
  },
];

/**
 * Invariant: every routed and every internal function of `functions` has exactly one operation,
 * and every entry of `docs` belongs to one of them — otherwise it throws, naming each function to
 * document (or entry to remove), so a new route cannot ship undocumented.
 */
export function buildOpenApiDocument(
  functions: Readonly<Record<string, FunctionSpec>> = FUNCTIONS,
  docs: Readonly<Record<string, OperationDoc>> = OPERATION_DOCS,
  statuses: Readonly<Record<string, SuccessStatus>> = SUCCESS_STATUS,
): OpenApiDocument {
  const planned = planOperations(functions, docs, statuses);

  const requests = z.registry<{ id: string }>();
  const responses = z.registry<{ id: string }>();
  for (const [id, schema] of Object.entries(SHARED_SCHEMAS)) responses.add(schema, { id });
  for (const op of planned) {
    const base = pascal(op.name);
    if (op.doc.request && "json" in op.doc.request && !requests.has(op.doc.request.json)) requests.add(op.doc.request.json, { id: `${base}Request` });
    const response = op.doc.response;
    if (response instanceof z.ZodType && !responses.has(response)) responses.add(response, { id: `${base}Response` });
  }
  const uri = (id: string) => `#/components/schemas/${id}`;
  const schemas = {
    ...componentSchemas(z.toJSONSchema(requests, { io: "input", uri })),
    ...componentSchemas(z.toJSONSchema(responses, { io: "output", uri })),
  };
  const ref = (registry: typeof requests, schema: z.ZodType) => ({ $ref: uri(registry.get(schema)!.id) });

  const paths: OpenApiDocument["paths"] = {};
  for (const op of planned) {
    const operation: JsonObject = {
      operationId: camel(op.name),
      summary: op.doc.summary,
      ...(op.doc.description ? { description: op.doc.description } : {}),
      tags: [op.internal ? "internal" : op.doc.tag],
      // Not `x-internal`: reference renderers (Scalar) hide operations so marked, and these are what a service integrates.
      ...(op.internal ? { "x-fitkit-internal": true } : {}),
      security: op.internal ? [{ internalKey: [] }] : op.clerk ? [{ clerkSession: [] }] : [],
    };
    const pathParameters = [...op.path.matchAll(/\{([^}]+)\}/g)].map((match) => match[1]!);
    if (pathParameters.length > 0) {
      operation.parameters = pathParameters.map((name) => ({
        name,
        in: "path",
        required: true,
        schema: { type: "string" },
        ...(op.doc.pathParameters?.[name] ? { description: op.doc.pathParameters[name] } : {}),
      }));
    }
    const request = op.doc.request;
    if (request) {
      operation.requestBody = {
        required: true,
        content:
          "json" in request
            ? { "application/json": { schema: ref(requests, request.json) } }
            : Object.fromEntries(request.raw.map((type) => [type, { schema: { type: "string", contentMediaType: type } }])),
      };
    }
    const response = op.doc.response;
    operation.responses = {
      [op.successStatus]:
        response === null
          ? { description: "Success, no body." }
          : {
              description: "Success.",
              content:
                response instanceof z.ZodType
                  ? { "application/json": { schema: ref(responses, response) } }
                  : { [response.raw]: { schema: { type: "string" } } },
            },
      ...errorResponses(op),
    };
    paths[op.path] ??= {};
    paths[op.path]![op.method] = operation;
  }

  return {
    openapi: "3.1.0",
    info: {
      title: "FitKit Uploads API",
      version: "1",
      description:
        "Two-stage uploads (presign, then consume when the parent record is written), signed downloads and token-gated signature uploads. Generated from the function table and the use-cases' zod schemas by `npm run openapi`; docs/API.md explains the contract.",
    },
    tags: TAGS,
    paths,
    components: {
      schemas,
      securitySchemes: {
        clerkSession: { type: "http", scheme: "bearer", bearerFormat: "JWT", description: "The signed-in user's Clerk session token." },
        internalKey: {
          type: "apiKey",
          in: "header",
          name: INTERNAL_KEY_HEADER,
          description: "Local stack only (`INTERNAL_API_KEY`); deployed, internal operations are Lambda invocations authorised by IAM.",
        },
      },
    },
  };
}

function planOperations(
  functions: Readonly<Record<string, FunctionSpec>>,
  docs: Readonly<Record<string, OperationDoc>>,
  statuses: Readonly<Record<string, SuccessStatus>>,
): PlannedOperation[] {
  const problems: string[] = [];
  const planned: PlannedOperation[] = [];
  for (const [functionKey, spec] of Object.entries(functions)) {
    if (spec.queue) continue; // a queue subscriber has no request/reply API
    const served = spec.route ? spec.route : `POST /internal/${functionKey}`;
    const doc = Object.hasOwn(docs, functionKey) ? docs[functionKey] : undefined;
    if (!doc) {
      problems.push(
        `"${served}" (function "${functionKey}" in stacks/functions.ts) has no documented operation: add OPERATION_DOCS["${functionKey}"] to scripts/openapi/operations.ts with the request and response zod schemas exported beside its use-case.`,
      );
      continue;
    }
    const [method, path] = served.split(" ") as [string, string];
    const internal = !spec.route;
    const successStatus = Object.hasOwn(statuses, functionKey) ? statuses[functionKey] : undefined;
    if (successStatus === undefined) {
      problems.push(`"${served}" (function "${functionKey}") has no success status: add it to SUCCESS_STATUS in stacks/functions.ts.`);
      continue;
    }
    planned.push({
      functionKey,
      method: method.toLowerCase(),
      path,
      name: functionKey,
      internal,
      clerk: (spec.links as readonly string[]).includes("Clerk"),
      successStatus,
      doc,
    });
  }
  for (const key of Object.keys(docs)) {
    const spec = Object.hasOwn(functions, key) ? functions[key] : undefined;
    if (!spec || spec.queue)
      problems.push(`OPERATION_DOCS["${key}"] in scripts/openapi/operations.ts documents no routed or internal function of stacks/functions.ts: remove it.`);
  }
  if (problems.length > 0) throw new Error(`The API document is incomplete:\n- ${problems.join("\n- ")}`);
  return planned;
}

/**
 * The error replies of an operation, one per status, each listing exactly the codes it carries.
 * Derived: INVALID_REQUEST for a validated body, UNAUTHENTICATED for a session or the internal key,
 * DEPENDENCY_UNAVAILABLE (a bounded wait or the time limit) and INTERNAL for every handler in the
 * shared middy stack.
 */
function errorResponses(op: PlannedOperation): Record<string, JsonObject> {
  const codes = new Set<ErrorCode>(op.doc.errors);
  if (op.doc.request && "json" in op.doc.request) codes.add("INVALID_REQUEST");
  if (op.internal || op.clerk) codes.add("UNAUTHENTICATED");
  if (!op.doc.bare) {
    codes.add("DEPENDENCY_UNAVAILABLE");
    codes.add("INTERNAL");
  }
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of Object.keys(HTTP_STATUS_BY_CODE) as ErrorCode[]) {
    if (!codes.has(code)) continue;
    const status = HTTP_STATUS_BY_CODE[code];
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  return Object.fromEntries(
    [...byStatus].map(([status, statusCodes]) => {
      const { $schema: _, ...schema } = z.toJSONSchema(errorBodySchemaFor(statusCodes as [ErrorCode, ...ErrorCode[]]), { io: "output" }) as JsonObject;
      const retryAfter =
        status === 429 && !op.internal
          ? { headers: { "Retry-After": { description: "Seconds until a request would be allowed again.", schema: { type: "integer", minimum: 0 } } } }
          : {};
      return [String(status), { description: statusCodes.join(", "), ...retryAfter, content: { "application/json": { schema } } }];
    }),
  );
}

/** `z.toJSONSchema(registry)`'s schemas without their `$schema`/`$id` (OpenAPI 3.1 names them by their place). */
function componentSchemas(converted: { schemas: Record<string, JsonObject> }): Record<string, JsonObject> {
  return Object.fromEntries(Object.entries(converted.schemas).map(([id, { $schema: _s, $id: _i, ...schema }]) => [id, schema]));
}

const words = (name: string) => name.split(/[-_]/).filter(Boolean);
const pascal = (name: string) =>
  words(name)
    .map((word) => word.charAt(0).toUpperCase() + word.slice(1))
    .join("");
const camel = (name: string) => {
  const p = pascal(name);
  return p.charAt(0).toLowerCase() + p.slice(1);
};

/** The document as docs/openapi.json holds it. */
export const serializeOpenApiDocument = (document: OpenApiDocument): string => `${JSON.stringify(document, null, 2)}\n`;
