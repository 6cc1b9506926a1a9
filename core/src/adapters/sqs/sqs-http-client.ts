/**
 * SQS SendMessageBatch (the JSON 1.0 protocol) over the lean signed HTTP client
 * (`../aws/aws-http.ts`): the one SQS call consume makes (media jobs), without the SDK's SQS
 * client in its bundle. It sends what the SDK's `SendMessageBatchCommand` sends (a test compares
 * them), to the queue URL's own host as the SDK does when no endpoint is set, retries what the SDK
 * retries (3 attempts, the SDK's default), and checks the MD5 of each accepted body as the SDK's
 * SQS middleware does.
 */
import { createHash } from "node:crypto";
import { AwsHttpClient, type AwsHttpOptions, AwsServiceError, errorCodeOf } from "../aws/aws-http.js";

export interface BatchEntry {
  id: string;
  body: string;
}

export interface BatchOutcome {
  /** Ids of the entries SQS accepted. */
  successful: string[];
  /** Ids and codes of the entries it refused. */
  failed: { id: string; code: string }[];
}

/** What the job queue needs of SQS. Throws when SQS refuses the request or cannot be reached. */
export interface MessageBatchSender {
  sendMessageBatch(queueUrl: string, entries: BatchEntry[]): Promise<BatchOutcome>;
}

/** The SDK client's default. */
export const SQS_MAX_ATTEMPTS = 3;

export type SqsHttpClientOptions = Omit<AwsHttpOptions, "service" | "endpoint" | "maxAttempts"> & {
  /** Default: the queue URL's origin (the SDK's `useQueueUrlAsEndpoint`); the local stack's tests set `AWS_ENDPOINT_URL_SQS`. */
  endpoint?: string;
};

export class SqsHttpClient implements MessageBatchSender {
  readonly #options: SqsHttpClientOptions;
  readonly #clients = new Map<string, AwsHttpClient>();

  constructor(options: SqsHttpClientOptions) {
    this.#options = options;
  }

  #clientFor(queueUrl: string): AwsHttpClient {
    const endpoint = this.#options.endpoint ?? new URL(queueUrl).origin;
    let client = this.#clients.get(endpoint);
    if (!client) {
      client = new AwsHttpClient({ ...this.#options, endpoint, service: "sqs", maxAttempts: SQS_MAX_ATTEMPTS });
      this.#clients.set(endpoint, client);
    }
    return client;
  }

  async sendMessageBatch(queueUrl: string, entries: BatchEntry[]): Promise<BatchOutcome> {
    const response = await this.#clientFor(queueUrl).send({
      method: "POST",
      path: "/",
      headers: { "content-type": "application/x-amz-json-1.0", "x-amz-target": "AmazonSQS.SendMessageBatch", "x-amzn-query-mode": "true" },
      body: JSON.stringify({ QueueUrl: queueUrl, Entries: entries.map((entry) => ({ Id: entry.id, MessageBody: entry.body })) }),
    });
    const text = await response.text();
    if (response.status < 200 || response.status >= 300) throw new AwsServiceError(errorCodeOf(response, text), response.status);
    const reply = JSON.parse(text) as {
      Successful?: { Id: string; MessageId?: string; MD5OfMessageBody?: string }[];
      Failed?: { Id: string; Code?: string }[];
    };
    const bodies = new Map(entries.map((entry) => [entry.id, entry.body]));
    const corrupted = (reply.Successful ?? []).filter((entry) => bodies.has(entry.Id) && entry.MD5OfMessageBody !== md5Hex(bodies.get(entry.Id)!));
    if (corrupted.length > 0) throw new Error(`Invalid MD5 checksum on messages: ${corrupted.map((entry) => entry.MessageId).join(", ")}`);
    return {
      successful: (reply.Successful ?? []).map((entry) => entry.Id),
      failed: (reply.Failed ?? []).map((entry) => ({ id: entry.Id, code: entry.Code ?? "Unknown" })),
    };
  }
}

const md5Hex = (body: string): string => createHash("md5").update(body, "utf8").digest("hex");
