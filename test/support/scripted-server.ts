/**
 * A real node:http server whose answers a test scripts, request by request: for the client's parts
 * (API client, PUT loop), which must meet answers the local stack only gives by chance (503 with
 * Retry-After, an HTML 502, a skewed Date header, a dropped connection).
 */
import { createServer, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";

export interface RecordedRequest {
  method: string;
  /** Path and query, as sent. */
  url: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** An answer, or "drop": the connection is destroyed without one (a network failure to the client). */
export type ScriptedAnswer = { status: number; headers?: Record<string, string>; body?: string } | "drop";

export interface ScriptedServer {
  origin: string;
  requests: RecordedRequest[];
  close(): Promise<void>;
}

/** `answer` gets each request and its 0-based number; it may wait before answering. */
export async function startScriptedServer(answer: (request: RecordedRequest, n: number) => ScriptedAnswer | Promise<ScriptedAnswer>): Promise<ScriptedServer> {
  const requests: RecordedRequest[] = [];
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const request: RecordedRequest = { method: req.method ?? "", url: req.url ?? "", headers: req.headers, body: Buffer.concat(chunks) };
    const n = requests.push(request) - 1;
    const reply = await answer(request, n);
    if (reply === "drop") return void req.socket.destroy();
    res.writeHead(reply.status, reply.headers ?? {});
    res.end(reply.body ?? "");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export const json = (status: number, body: unknown, headers: Record<string, string> = {}): ScriptedAnswer => ({
  status,
  headers: { "content-type": "application/json", ...headers },
  body: JSON.stringify(body),
});

/** Storage's XML error document (S3 and R2 answer the same shape). */
export const storageXml = (status: number, code: string, message: string): ScriptedAnswer => ({
  status,
  headers: { "content-type": "application/xml" },
  body: `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>${message}</Message></Error>`,
});
