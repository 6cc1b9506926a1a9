/**
 * The lean Lambda and SQS clients the request-path functions use (`LambdaHttpInvoker` for the
 * scanner, `SqsHttpClient` for media jobs) beside the SDK's clients, configured as the functions
 * configured them, on scripted servers (no local Lambda or SQS checks SigV4; the signatures are
 * held to the SDK's in core/src/adapters/aws/sigv4.test.ts): the same request on the wire (method,
 * path, headers, body — all but the SDK's bookkeeping headers), the same outcome for each answer
 * after the same number of attempts, and a silent server given up within the timeouts.
 */
import { createHash } from "node:crypto";
import { InvokeCommand, LambdaClient } from "@aws-sdk/client-lambda";
import { SendMessageBatchCommand, SQSClient } from "@aws-sdk/client-sqs";
import { LambdaHttpInvoker } from "@fitkit/core/adapters/lambda/lambda-http-invoker";
import { SQS_MAX_ATTEMPTS, SqsHttpClient } from "@fitkit/core/adapters/sqs/sqs-http-client";
import { describe, expect, it } from "vitest";
import { SCAN_CLIENT } from "../functions/lib/scan-client.js";
import { json, type RecordedRequest, type ScriptedAnswer, startScriptedServer } from "./support/scripted-server.js";

const REGION = "eu-west-1";
const credentials = { accessKeyId: "AKIDLEAN", secretAccessKey: "lean-secret", sessionToken: "session+token/=" };
const FUNCTION = "arn:aws:lambda:eu-west-1:000000000000:function:fitkit-scanner";
const PAYLOAD = JSON.stringify({ url: "https://r2.example/compliance/k?X-Amz-Signature=abc", maxBytes: 1000 });
const ENTRIES = [
  { id: "0", body: '{"kind":"image","bucket":"media","key":"org/é 1.png"}' },
  { id: "1", body: '{"kind":"video","bucket":"media","key":"org/2.mp4"}' },
];
const md5 = (text: string) => createHash("md5").update(text).digest("hex");

/**
 * A request without what only the SDK sends (user agent, retry bookkeeping), what changes with the
 * instant, and the host (each client has its own server); the payload hash checked against the body.
 */
function comparable(request: RecordedRequest) {
  const {
    host: _host,
    "x-amz-content-sha256": payloadHash,
    "user-agent": _ua,
    "x-amz-user-agent": _xua,
    "amz-sdk-invocation-id": _id,
    "amz-sdk-request": _attempt,
    authorization,
    "x-amz-date": _date,
    connection: _connection,
    ...headers
  } = request.headers;
  const scope = /Credential=([^,]+),/.exec(String(authorization))?.[1];
  const hashesBody = payloadHash === createHash("sha256").update(request.body).digest("hex");
  return { method: request.method, url: request.url, headers, scope, hashesBody, body: request.body.toString("utf8") };
}

async function outcomeOf(call: () => Promise<unknown>): Promise<unknown> {
  try {
    return { value: await call() };
  } catch (error) {
    return { error: (error as Error).name };
  }
}

type Script = (request: RecordedRequest, n: number) => ScriptedAnswer | Promise<ScriptedAnswer>;

/** Lambda, as functions/lib/deps/scanner.ts configures each (SCAN_CLIENT), on its own server. */
async function lambdaPair(
  script: Script,
  timeouts: { connectionTimeoutMs: number; idleTimeoutMs: number } = {
    connectionTimeoutMs: SCAN_CLIENT.connectionTimeoutMs,
    idleTimeoutMs: SCAN_CLIENT.requestTimeoutMs,
  },
) {
  const [forSdk, forLean] = await Promise.all([startScriptedServer(script), startScriptedServer(script)]);
  const sdk = new LambdaClient({
    region: REGION,
    credentials,
    endpoint: forSdk.origin,
    maxAttempts: SCAN_CLIENT.maxAttempts,
    requestHandler: { connectionTimeout: timeouts.connectionTimeoutMs, requestTimeout: timeouts.idleTimeoutMs, throwOnRequestTimeout: true },
  });
  const lean = new LambdaHttpInvoker({ region: REGION, credentials, endpoint: forLean.origin, maxAttempts: SCAN_CLIENT.maxAttempts, ...timeouts });
  return {
    servers: [forSdk, forLean] as const,
    sdk: async () => {
      const out = await sdk.send(new InvokeCommand({ FunctionName: FUNCTION, Payload: PAYLOAD }));
      return { ...(out.FunctionError ? { functionError: out.FunctionError } : {}), payload: new TextDecoder().decode(out.Payload) };
    },
    lean: async () => {
      const out = await lean.invoke(FUNCTION, PAYLOAD);
      return { ...out, payload: new TextDecoder().decode(out.payload) };
    },
    close: () => Promise.all([forSdk.close(), forLean.close()]),
  };
}

/** SQS, as functions/lib/deps/job-queue.ts configured the SDK's (defaults), each on its own server: the queue URL's host. */
async function sqsPair(script: Script, leanTimeouts: { connectionTimeoutMs?: number; idleTimeoutMs?: number } = {}) {
  const [forSdk, forLean] = await Promise.all([startScriptedServer(script), startScriptedServer(script)]);
  const sdk = new SQSClient({ region: REGION, credentials });
  const lean = new SqsHttpClient({ region: REGION, credentials, ...leanTimeouts });
  return {
    servers: [forSdk, forLean] as const,
    sdk: async () => {
      const out = await sdk.send(
        new SendMessageBatchCommand({ QueueUrl: `${forSdk.origin}/000000000000/media`, Entries: ENTRIES.map((e) => ({ Id: e.id, MessageBody: e.body })) }),
      );
      return { successful: (out.Successful ?? []).map((e) => e.Id), failed: (out.Failed ?? []).map((e) => ({ id: e.Id, code: e.Code })) };
    },
    lean: () => lean.sendMessageBatch(`${forLean.origin}/000000000000/media`, ENTRIES),
    close: () => Promise.all([forSdk.close(), forLean.close()]),
  };
}

const invoked = (body: unknown, headers: Record<string, string> = {}): ScriptedAnswer => json(200, body, { "x-amz-executed-version": "$LATEST", ...headers });
const lambdaError = (status: number, type: string): ScriptedAnswer =>
  json(status, { Type: "User", message: type }, { "x-amzn-errortype": `${type}:http://internal.amazon.com/coral/com.amazonaws.awslambda/` });
const batchReply = (failed: { Id: string; Code: string }[] = [], corrupt = false): ScriptedAnswer =>
  json(
    200,
    {
      Successful: ENTRIES.filter((e) => !failed.some((f) => f.Id === e.id)).map((e) => ({
        Id: e.id,
        MessageId: `m-${e.id}`,
        MD5OfMessageBody: corrupt ? md5("other") : md5(e.body),
      })),
      Failed: failed.map((f) => ({ ...f, SenderFault: false, Message: "x" })),
    },
    { "content-type": "application/x-amz-json-1.0" },
  );
const sqsError = (status: number, type: string): ScriptedAnswer =>
  json(
    status,
    { __type: `com.amazonaws.sqs#${type}`, message: "x" },
    { "content-type": "application/x-amz-json-1.0", "x-amzn-query-error": `AWS.SimpleQueueService.${type};Sender` },
  );

const SCENARIOS: { client: "lambda" | "sqs"; name: string; answers: ScriptedAnswer[] }[] = [
  { client: "lambda", name: "a verdict", answers: [invoked({ verdict: "clean" })] },
  {
    client: "lambda",
    name: "a function error (the scanner crashed)",
    answers: [invoked({ errorType: "Runtime.ExitError" }, { "x-amz-function-error": "Unhandled" })],
  },
  { client: "lambda", name: "throttled, then a verdict", answers: [lambdaError(429, "TooManyRequestsException"), invoked({ verdict: "clean" })] },
  { client: "lambda", name: "throttled on every attempt", answers: [lambdaError(429, "TooManyRequestsException")] },
  { client: "lambda", name: "a 500 on every attempt", answers: [lambdaError(500, "ServiceException")] },
  { client: "lambda", name: "a dropped connection, then a verdict", answers: ["drop", invoked({ verdict: "clean" })] },
  { client: "lambda", name: "no such function (not retried)", answers: [lambdaError(404, "ResourceNotFoundException")] },
  { client: "lambda", name: "a refused payload (not retried)", answers: [lambdaError(400, "InvalidRequestContentException")] },
  { client: "sqs", name: "every job accepted", answers: [batchReply()] },
  { client: "sqs", name: "one job refused", answers: [batchReply([{ Id: "1", Code: "InternalError" }])] },
  { client: "sqs", name: "an accepted body with the wrong MD5", answers: [batchReply([], true)] },
  { client: "sqs", name: "a 500 on every attempt", answers: [sqsError(500, "InternalFailure")] },
  { client: "sqs", name: "a 500, then accepted", answers: [sqsError(500, "InternalFailure"), batchReply()] },
  { client: "sqs", name: "a dropped connection, then accepted", answers: ["drop", batchReply()] },
  { client: "sqs", name: "no such queue (not retried)", answers: [sqsError(400, "QueueDoesNotExist")] },
];

describe("the lean Lambda and SQS clients and the SDK's, on scripted servers", () => {
  it("Invoke sends the SDK's request", async () => {
    const pair = await lambdaPair(() => invoked({ verdict: "clean" }));
    try {
      await pair.sdk();
      await pair.lean();
      const [sdkRequest, leanRequest] = pair.servers.map((server) => comparable(server.requests[0]!));

      expect(leanRequest).toEqual(sdkRequest);
      expect(leanRequest?.hashesBody).toBe(true);
      expect(leanRequest).toMatchObject({ method: "POST", url: `/2015-03-31/functions/${encodeURIComponent(FUNCTION)}/invocations`, body: PAYLOAD });
    } finally {
      await pair.close();
    }
  });

  it("SendMessageBatch sends the SDK's request, to the queue URL's host", async () => {
    const pair = await sqsPair(() => batchReply());
    try {
      await pair.sdk();
      await pair.lean();
      const [sdkRequest, leanRequest] = pair.servers.map((server) => comparable(server.requests[0]!)) as [
        ReturnType<typeof comparable>,
        ReturnType<typeof comparable>,
      ];

      expect({ ...leanRequest, body: JSON.parse(leanRequest.body) }).toEqual({
        ...sdkRequest,
        // The queue URL names each server's own port (so the length differs); everything else is the same.
        body: { ...JSON.parse(sdkRequest.body), QueueUrl: `${pair.servers[1].origin}/000000000000/media` },
        headers: { ...sdkRequest.headers, "content-length": leanRequest.headers["content-length"] },
      });
      expect(leanRequest.hashesBody).toBe(true);
      expect(leanRequest.headers).toMatchObject({ "x-amz-target": "AmazonSQS.SendMessageBatch", "content-type": "application/x-amz-json-1.0" });
    } finally {
      await pair.close();
    }
  });

  it.each(SCENARIOS)("$client, $name: the same outcome after the same attempts", { timeout: 20_000 }, async ({ client, answers }) => {
    const script: Script = (_request, n) => answers[Math.min(n, answers.length - 1)]!;
    const pair = client === "lambda" ? await lambdaPair(script) : await sqsPair(script);
    try {
      const sdkOutcome = await outcomeOf(pair.sdk);
      const leanOutcome = await outcomeOf(pair.lean);

      expect(leanOutcome).toEqual(sdkOutcome);
      expect(pair.servers[1].requests.length).toBe(pair.servers[0].requests.length);
    } finally {
      await pair.close();
    }
  });

  it("Invoke gives a silent scanner up after its attempts, each bounded by the idle timeout, as a TimeoutError", async () => {
    const pair = await lambdaPair(() => new Promise<ScriptedAnswer>(() => undefined), { connectionTimeoutMs: 500, idleTimeoutMs: 200 });
    try {
      const started = performance.now();
      const outcome = await outcomeOf(pair.lean);
      const waited = performance.now() - started;

      expect(outcome).toEqual({ error: "TimeoutError" });
      expect(pair.servers[1].requests).toHaveLength(SCAN_CLIENT.maxAttempts);
      expect(waited).toBeGreaterThanOrEqual(SCAN_CLIENT.maxAttempts * 200 - 20);
      expect(waited).toBeLessThan(SCAN_CLIENT.maxAttempts * 200 + 2000);
    } finally {
      await pair.close();
    }
  });

  it("SendMessageBatch gives a silent queue up after its attempts, each bounded (consume's hand-off never hangs)", async () => {
    // The SDK client had no timeout here; the lean one is given dependencyTimeoutMs (functions/lib/deps/job-queue.ts).
    const pair = await sqsPair(() => new Promise<ScriptedAnswer>(() => undefined), { connectionTimeoutMs: 500, idleTimeoutMs: 200 });
    try {
      const started = performance.now();
      const outcome = await outcomeOf(pair.lean);
      const waited = performance.now() - started;

      expect(outcome).toEqual({ error: "TimeoutError" });
      expect(pair.servers[1].requests).toHaveLength(SQS_MAX_ATTEMPTS);
      expect(waited).toBeGreaterThanOrEqual(SQS_MAX_ATTEMPTS * 200 - 20);
      expect(waited).toBeLessThan(SQS_MAX_ATTEMPTS * 200 + 2000);
    } finally {
      await pair.close();
    }
  });
});
