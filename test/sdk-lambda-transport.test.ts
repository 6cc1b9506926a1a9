/**
 * The SDK over Lambda invoke, with the Lambda client mocked (aws-sdk-client-mock): what a real
 * Lambda answers only by chance — throttling, a crashed function, a lost connection — and the
 * request it is sent. The operations' own replies are the handlers' `{ error }` bodies.
 */
import { InvokeCommand, LambdaClient, ResourceNotFoundException, TooManyRequestsException } from "@aws-sdk/client-lambda";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, describe, expect, expectTypeOf, it } from "vitest";
import { createUploadsClient, lambdaTransport, UPLOADS_OPERATIONS, type UploadsApiError, type UploadsOperation } from "../sdk/src/index.js";
import { FUNCTIONS, INTERNAL_FUNCTION_KEYS, type InternalOperationName } from "../stacks/functions.js";

const lambda = mockClient(LambdaClient);
afterEach(() => lambda.reset());

const FUNCTION_NAMES = {
  consume: "fitkit-uploads-production-consume",
  release: "fitkit-uploads-production-release",
  usage: "fitkit-uploads-production-usage",
};

const client = (retries = 2) =>
  createUploadsClient({
    transport: lambdaTransport({ functionNames: FUNCTION_NAMES, client: new LambdaClient({ region: "eu-west-1" }) }),
    retry: { retries, minDelayMs: 1, maxDelayMs: 5 },
  });

/** A synchronous invoke's output: the handler's return value as the JSON payload. */
const invoked = (reply: unknown, functionError?: string) => ({
  StatusCode: 200,
  Payload: new TextEncoder().encode(JSON.stringify(reply)) as any,
  ...(functionError ? { FunctionError: functionError } : {}),
});

const throttled = () =>
  new TooManyRequestsException({ message: "Rate exceeded", $metadata: { httpStatusCode: 429 }, Reason: "ReservedFunctionConcurrentInvocationLimitExceeded" });

/** Each invoke's function name and decoded JSON payload, in order. */
const sent = () =>
  lambda.commandCalls(InvokeCommand).map((call) => ({
    FunctionName: call.args[0].input.FunctionName,
    InvocationType: call.args[0].input.InvocationType,
    payload: JSON.parse(new TextDecoder().decode(call.args[0].input.Payload as Uint8Array)),
  }));

const caught = (promise: Promise<unknown>) =>
  promise.then(
    () => expect.fail("resolved"),
    (error: unknown) => error as UploadsApiError,
  );

const CONSUMED = {
  uploads: [{ uploadId: "a".repeat(32), bucket: "fitkit-media", key: "org_1/progress_photo/user_1/x.png", contentType: "image/png", size: 10, etag: '"e"' }],
};
const CONSUME_INPUT = { uploadIds: ["a".repeat(32)], ownerType: "progress_photo" as const, owner: { orgId: "org_1", userId: "user_1" } };

describe("the SDK's operations", () => {
  it("are the deployed internal operations but the scheduled ones (sweeper, orphan-audit: operators' tools)", () => {
    const unscheduled = INTERNAL_FUNCTION_KEYS.filter((key) => !("schedule" in FUNCTIONS[key]));

    expect(unscheduled as string[]).toEqual([...UPLOADS_OPERATIONS]);
    expectTypeOf<UploadsOperation>().toExtend<InternalOperationName>();
  });
});

describe("the Lambda transport", () => {
  it("invokes the operation's function synchronously with the input as its JSON payload, and returns its reply", async () => {
    lambda.on(InvokeCommand).resolves(invoked({ used: 10, reserved: 0, quota: 100 }));

    const usage = await client().usage({ orgId: "org_1" });

    expect(usage).toEqual({ used: 10, reserved: 0, quota: 100 });
    expect(sent()).toEqual([{ FunctionName: FUNCTION_NAMES.usage, InvocationType: "RequestResponse", payload: { orgId: "org_1" } }]);
  });

  it("consume without an idempotency key sends a generated UUID and returns it with the result", async () => {
    lambda.on(InvokeCommand).resolves(invoked(CONSUMED));

    const result = await client().consume(CONSUME_INPUT);

    const [call] = sent();
    expect(call!.payload).toEqual({ ...CONSUME_INPUT, idempotencyKey: expect.stringMatching(/^[0-9a-f-]{36}$/) });
    expect(result).toEqual({ ...CONSUMED, idempotencyKey: call!.payload.idempotencyKey });
  });

  it("an { error } reply is thrown as UploadsApiError with the API's code, status and details, and is not retried", async () => {
    const details = [{ uploadId: "a".repeat(32), code: "ALREADY_CONSUMED" }];
    lambda.on(InvokeCommand).resolves(invoked({ error: { code: "ALREADY_CONSUMED", message: "The upload is already linked.", details } }));

    const error = await caught(client().consume({ ...CONSUME_INPUT, idempotencyKey: "entry-1" }));

    expect({ name: error.name, code: error.code, status: error.status, details: error.details, message: error.message, operation: error.operation }).toEqual({
      name: "UploadsApiError",
      code: "ALREADY_CONSUMED",
      status: 409,
      details,
      message: "The upload is already linked.",
      operation: "consume",
    });
    expect(sent()).toHaveLength(1);
  });

  it("a crashed function (FunctionError) is INTERNAL with Lambda's error type, and is not retried", async () => {
    lambda.on(InvokeCommand).resolves(invoked({ errorType: "Runtime.ExitError", errorMessage: "exited" }, "Unhandled"));

    const error = await caught(client().usage({ orgId: "org_1" }));

    expect({ code: error.code, status: error.status, details: error.details }).toEqual({
      code: "INTERNAL",
      status: 500,
      details: [{ functionError: "Unhandled", errorType: "Runtime.ExitError" }],
    });
    expect(sent()).toHaveLength(1);
  });

  it("throttling is retried a bounded number of times, then thrown as DEPENDENCY_UNAVAILABLE", async () => {
    lambda.on(InvokeCommand).rejects(throttled());

    const error = await caught(client(2).usage({ orgId: "org_1" }));

    expect({ code: error.code, status: error.status, details: error.details, retryable: error.retryable }).toEqual({
      code: "DEPENDENCY_UNAVAILABLE",
      status: 503,
      details: [{ reason: "TooManyRequestsException" }],
      retryable: true,
    });
    expect(sent()).toHaveLength(3);
  });

  it("a retried consume sends the same idempotency key every time and returns the result of the attempt that got through", async () => {
    lambda
      .on(InvokeCommand)
      .rejectsOnce(throttled())
      .rejectsOnce(Object.assign(new Error("socket hang up"), { code: "ECONNRESET" }))
      .resolves(invoked(CONSUMED));

    const result = await client(2).consume(CONSUME_INPUT);

    const payloads = sent().map((call) => call.payload);
    expect(payloads).toHaveLength(3);
    expect(new Set(payloads.map((p) => p.idempotencyKey)).size).toBe(1);
    expect(payloads[1]).toEqual(payloads[0]);
    expect(payloads[2]).toEqual(payloads[0]);
    expect(result).toEqual({ ...CONSUMED, idempotencyKey: payloads[0].idempotencyKey });
  });

  it("a DEPENDENCY_UNAVAILABLE reply is retried with the caller's own idempotency key", async () => {
    lambda
      .on(InvokeCommand)
      .resolvesOnce(invoked({ error: { code: "DEPENDENCY_UNAVAILABLE", message: "A dependency (redis) is unavailable" } }))
      .resolves(invoked(CONSUMED));

    const result = await client().consume({ ...CONSUME_INPUT, idempotencyKey: "entry-42" });

    expect(sent().map((call) => call.payload.idempotencyKey)).toEqual(["entry-42", "entry-42"]);
    expect(result.idempotencyKey).toBe("entry-42");
  });

  it("no other error is retried: RATE_LIMITED and a refused invoke (unknown function) are thrown after one attempt", async () => {
    lambda.on(InvokeCommand).resolvesOnce(invoked({ error: { code: "RATE_LIMITED", message: "slow down", details: [{ retryAfterSeconds: 3 }] } }));
    const limited = await caught(client().release({ orgId: "org_1", keys: ["org_1/message/user_1/a.png"] }));
    expect({ code: limited.code, status: limited.status, details: limited.details }).toEqual({
      code: "RATE_LIMITED",
      status: 429,
      details: [{ retryAfterSeconds: 3 }],
    });
    expect(sent()).toHaveLength(1);

    lambda.reset();
    lambda.on(InvokeCommand).rejects(new ResourceNotFoundException({ message: "Function not found", $metadata: { httpStatusCode: 404 } }));
    const denied = await caught(client().usage({ orgId: "org_1" }));
    expect({ code: denied.code, status: denied.status, details: denied.details }).toEqual({
      code: "INTERNAL",
      status: 500,
      details: [{ lambdaError: "ResourceNotFoundException" }],
    });
    expect(sent()).toHaveLength(1);
  });

  it("an operation without a configured function name fails as INTERNAL without invoking anything", async () => {
    const error = await caught(client().setQuota({ orgId: "org_1", quotaBytes: 5 }));

    expect({ code: error.code, message: error.message }).toEqual({ code: "INTERNAL", message: "No function name is configured for set-quota." });
    expect(sent()).toEqual([]);
  });
});
