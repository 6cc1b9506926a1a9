/**
 * The two AWS APIs the deployed functions call besides storage and Redis, on one local HTTP server
 * that the functions' own SDK clients reach through Lambda's standard endpoint variables
 * (`AWS_ENDPOINT_URL_LAMBDA`, `AWS_ENDPOINT_URL_SQS`):
 * - Lambda Invoke (REST: `POST /2015-03-31/functions/{name}/invocations`), delivered to the handler
 *   the test registers under that function name — e.g. the real scanner on a real clamd;
 * - SQS SendMessageBatch (JSON 1.0 protocol, with the MD5 of each body the client checks), the
 *   messages kept for the test to deliver to the queue's subscriber as Lambda's event source would.
 * Only what the functions send is served; anything else is a 400 the caller sees.
 */
import { createHash, randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface QueuedMessage {
  messageId: string;
  body: string;
}

export interface AwsEndpoints {
  /** http://127.0.0.1:PORT: both endpoint variables point here. */
  url: string;
  /** The URL of queue `name` (SST links a queue by its URL). */
  queueUrl(name: string): string;
  /** The messages sent to queue `name` since the last call, oldest first (they leave the queue). */
  receive(name: string): QueuedMessage[];
  /** Function names of the invokes so far, in order. */
  readonly invoked: readonly string[];
  close(): Promise<void>;
}

type Invokable = (payload: unknown) => Promise<unknown>;

const ACCOUNT = "000000000000";

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req as AsyncIterable<Buffer>) chunks.push(chunk);
  return JSON.parse(Buffer.concat(chunks).toString("utf8") || "null");
}

function reply(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { "content-type": "application/json", ...headers });
  res.end(JSON.stringify(body));
}

export async function startAwsEndpoints(functions: Record<string, Invokable>): Promise<AwsEndpoints> {
  const queues = new Map<string, QueuedMessage[]>();
  const invoked: string[] = [];
  let url = "";

  async function sendMessageBatch(res: ServerResponse, input: { QueueUrl?: string; Entries?: { Id: string; MessageBody: string }[] }): Promise<void> {
    const name = input.QueueUrl?.startsWith(`${url}/${ACCOUNT}/`) ? input.QueueUrl.slice(`${url}/${ACCOUNT}/`.length) : undefined;
    if (!name || !queues.has(name)) return reply(res, 400, { __type: "com.amazonaws.sqs#QueueDoesNotExist", message: "The specified queue does not exist." });
    const successful = (input.Entries ?? []).map((entry) => {
      const messageId = randomUUID();
      queues.get(name)!.push({ messageId, body: entry.MessageBody });
      return { Id: entry.Id, MessageId: messageId, MD5OfMessageBody: createHash("md5").update(entry.MessageBody).digest("hex") };
    });
    reply(res, 200, { Successful: successful, Failed: [] }, { "content-type": "application/x-amz-json-1.0" });
  }

  async function invoke(res: ServerResponse, functionName: string, payload: unknown): Promise<void> {
    const run = functions[functionName];
    if (!run) return reply(res, 404, { Type: "User", message: `Function not found: ${functionName}` }, { "x-amzn-errortype": "ResourceNotFoundException" });
    invoked.push(functionName);
    reply(res, 200, await run(payload), { "x-amz-executed-version": "$LATEST" });
  }

  const server = createServer((req, res) => {
    const target = req.headers["x-amz-target"];
    const invokePath = /^\/2015-03-31\/functions\/([^/]+)\/invocations$/.exec(new URL(req.url ?? "/", "http://aws").pathname);
    const served =
      req.method === "POST" && target === "AmazonSQS.SendMessageBatch"
        ? readJson(req).then((input) => sendMessageBatch(res, input as Parameters<typeof sendMessageBatch>[1]))
        : req.method === "POST" && invokePath
          ? readJson(req).then((payload) => invoke(res, decodeURIComponent(invokePath[1]!), payload))
          : Promise.resolve(reply(res, 400, { message: `not served here: ${req.method} ${req.url} ${String(target ?? "")}` }));
    served.catch((error: unknown) => {
      if (!res.headersSent) reply(res, 500, { message: String(error) });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url,
    queueUrl(name) {
      if (!queues.has(name)) queues.set(name, []);
      return `${url}/${ACCOUNT}/${name}`;
    },
    receive(name) {
      return queues.get(name)?.splice(0) ?? [];
    },
    invoked,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
