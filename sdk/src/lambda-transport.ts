/**
 * The deployed transport: a synchronous Lambda invoke of the operation's function, by the names
 * the stack prints (`internalFunctions` of `sst deploy`'s outputs, keyed by operation). The
 * handlers answer errors as `{ error }` results; what Lambda itself reports is mapped here:
 * throttling, Lambda's own 5xx and network failures → `DEPENDENCY_UNAVAILABLE` (retried by the
 * client), a crashed function (`FunctionError`) or a refused call (no permission, unknown name) →
 * `INTERNAL` (not retried: the same call would fail the same way).
 */
import { InvokeCommand, type InvokeCommandOutput, LambdaClient } from "@aws-sdk/client-lambda";
import { UploadsApiError } from "./errors.js";
import type { UploadsOperation } from "./operations.js";
import { type UploadsTransport, unavailable } from "./transport.js";

export interface LambdaTransportOptions {
  /** Operation → function name (or ARN); only the operations this service calls are needed. */
  functionNames: Partial<Record<UploadsOperation, string>>;
  /**
   * Defaults to `new LambdaClient({ maxAttempts: 1 })`: retries belong to the SDK's one rule
   * (with the same idempotency key), not to a second loop inside the AWS client.
   */
  client?: LambdaClient;
}

/** Lambda errors that say "not now" rather than "never". */
const RETRYABLE_LAMBDA_ERRORS = new Set([
  "TooManyRequestsException",
  "ServiceException",
  "EC2ThrottledException",
  "ResourceNotReadyException",
  "SnapStartNotReadyException",
  "ENILimitReachedException",
  "TimeoutError",
  "RequestTimeout",
]);

interface AwsLikeError {
  name?: string;
  $fault?: "client" | "server";
  $metadata?: { httpStatusCode?: number };
}

export function lambdaTransport(options: LambdaTransportOptions): UploadsTransport {
  let client = options.client;
  const encoder = new TextEncoder();
  const decoder = new TextDecoder();

  return {
    async invoke(operation: UploadsOperation, payload: unknown): Promise<unknown> {
      const functionName = options.functionNames[operation];
      if (!functionName) throw new UploadsApiError("INTERNAL", `No function name is configured for ${operation}.`, { operation });
      client ??= new LambdaClient({ maxAttempts: 1 });

      let output: InvokeCommandOutput;
      try {
        output = await client.send(
          new InvokeCommand({ FunctionName: functionName, InvocationType: "RequestResponse", Payload: encoder.encode(JSON.stringify(payload)) }),
        );
      } catch (error) {
        const aws = (error ?? {}) as AwsLikeError;
        const name = aws.name ?? "Error";
        // No HTTP status: the request never got an answer (DNS, reset, timeout).
        const noAnswer = aws.$metadata?.httpStatusCode === undefined;
        if (RETRYABLE_LAMBDA_ERRORS.has(name) || aws.$fault === "server" || noAnswer) throw unavailable(operation, name, error);
        throw new UploadsApiError("INTERNAL", `Lambda refused to invoke ${operation} (${name}).`, {
          operation,
          details: [{ lambdaError: name }],
          cause: error,
        });
      }

      const text = output.Payload ? decoder.decode(output.Payload) : "";
      if (output.FunctionError) {
        // The function threw, timed out or ran out of memory; its payload is Lambda's error report.
        const report = parseJson(text) as { errorType?: unknown } | undefined;
        throw new UploadsApiError("INTERNAL", `${operation} failed inside its function (${output.FunctionError}).`, {
          operation,
          details: [{ functionError: output.FunctionError, ...(typeof report?.errorType === "string" ? { errorType: report.errorType } : {}) }],
        });
      }
      const reply = parseJson(text);
      if (reply === undefined) throw new UploadsApiError("INTERNAL", `${operation} returned a payload that is not JSON.`, { operation });
      return reply;
    },
  };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}
