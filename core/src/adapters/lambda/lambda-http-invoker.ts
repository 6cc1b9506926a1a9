/**
 * Lambda's synchronous Invoke (`POST /2015-03-31/functions/{name}/invocations`) over the lean
 * signed HTTP client (`../aws/aws-http.ts`): the one Lambda call consume and the public signature
 * functions make (to the scanner), without the SDK's Lambda client in their bundles. It sends what
 * the SDK's `InvokeCommand` sends (a test compares them) and retries what the SDK retries.
 */
import { AwsHttpClient, type AwsHttpOptions, AwsServiceError, errorCodeOf } from "../aws/aws-http.js";
import { escapeUri } from "../aws/sigv4.js";

/** What a synchronous invoke answers: the function's reply, and whether it failed (`Unhandled`, …). */
export interface InvokeResult {
  /** `X-Amz-Function-Error`: the function threw, timed out or crashed; the payload then describes it. */
  functionError?: string;
  payload: Uint8Array;
}

/** What the scanner needs of Lambda: one synchronous invoke. Throws when Lambda itself refuses or cannot be reached. */
export interface FunctionInvoker {
  invoke(functionName: string, payload: string): Promise<InvokeResult>;
}

export type LambdaHttpInvokerOptions = Omit<AwsHttpOptions, "service" | "endpoint"> & {
  /** Default `https://lambda.<region>.amazonaws.com` (the local stack's tests set `AWS_ENDPOINT_URL_LAMBDA`). */
  endpoint?: string;
};

export class LambdaHttpInvoker implements FunctionInvoker {
  readonly #client: AwsHttpClient;

  constructor(options: LambdaHttpInvokerOptions) {
    this.#client = new AwsHttpClient({ ...options, endpoint: options.endpoint ?? `https://lambda.${options.region}.amazonaws.com`, service: "lambda" });
  }

  async invoke(functionName: string, payload: string): Promise<InvokeResult> {
    const response = await this.#client.send({
      method: "POST",
      path: `/2015-03-31/functions/${escapeUri(functionName)}/invocations`,
      headers: { "content-type": "application/octet-stream" },
      body: payload,
    });
    if (response.status < 200 || response.status >= 300) {
      const body = await response.text();
      throw new AwsServiceError(errorCodeOf(response, body), response.status);
    }
    const functionError = response.headers["x-amz-function-error"];
    return { ...(typeof functionError === "string" && functionError ? { functionError } : {}), payload: await response.bytes() };
  }
}
