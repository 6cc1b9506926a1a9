/**
 * The image's Lambda Runtime API loop against a node:http server that speaks the Runtime API's
 * side (next invocation, response, error, init error), as Lambda's runtime endpoint does.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { reportInitError, serveInvocations } from "../src/runtime-api.js";

interface Posted {
  path: string;
  errorType: string | undefined;
  body: unknown;
}

let server: Server | undefined;
afterEach(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())));

/** Serves `events` in order, then records what the runtime posts. */
async function runtimeApi(events: unknown[]): Promise<{ address: string; posted: Posted[]; served: () => number }> {
  const posted: Posted[] = [];
  let next = 0;
  server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      if (request.method === "GET" && request.url === "/2018-06-01/runtime/invocation/next") {
        const id = `req-${next}`;
        response.writeHead(200, {
          "lambda-runtime-aws-request-id": id,
          "lambda-runtime-deadline-ms": String(Date.now() + 30_000),
          "content-type": "application/json",
        });
        response.end(JSON.stringify(events[next++]));
        return;
      }
      posted.push({
        path: request.url ?? "",
        errorType: request.headers["lambda-runtime-function-error-type"] as string | undefined,
        body: JSON.parse(Buffer.concat(chunks).toString() || "null"),
      });
      response.writeHead(202).end('{"status":"OK"}');
    });
  });
  await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", resolve));
  return { address: `127.0.0.1:${(server.address() as AddressInfo).port}`, posted, served: () => next };
}

describe("serveInvocations", () => {
  it("answers each invocation with the handler's result, and a thrown error as the invocation's error", async () => {
    const api = await runtimeApi([{ n: 2 }, { n: -1 }]);
    const handler = async (event: unknown) => {
      const n = (event as { n: number }).n;
      if (n < 0) throw new RangeError("negative");
      return { doubled: n * 2 };
    };

    await serveInvocations(api.address, handler, () => api.served() === 2 && api.posted.length === 2);

    expect(api.posted).toEqual([
      { path: "/2018-06-01/runtime/invocation/req-0/response", errorType: undefined, body: { doubled: 4 } },
      { path: "/2018-06-01/runtime/invocation/req-1/error", errorType: "Unhandled", body: { errorType: "RangeError", errorMessage: "negative" } },
    ]);
  });

  it("reports a failed start as an init error", async () => {
    const api = await runtimeApi([]);

    await reportInitError(api.address, new Error("Invalid scanner configuration — DEFINITIONS_BUCKET: Required"));

    expect(api.posted).toEqual([
      {
        path: "/2018-06-01/runtime/init/error",
        errorType: "Runtime.InitError",
        body: { errorType: "Error", errorMessage: "Invalid scanner configuration — DEFINITIONS_BUCKET: Required" },
      },
    ]);
  });
});
