/**
 * `createUploadsClient`: typed calls to the internal operations over a transport, with one retry
 * rule — a `DEPENDENCY_UNAVAILABLE` answer or a transport failure is sent again, unchanged (same
 * payload, same idempotency key), after the backoff the upload client uses too
 * (core/src/contract/backoff.ts: jittered exponential, `Retry-After` honoured up to `maxDelayMs`),
 * a bounded number of times; every other error is thrown at once.
 */
import { type BackoffOptions, type BackoffPolicy, backoffPolicy, retryDelay } from "@fitkit/core/contract/backoff";
import { errorOfReply, UploadsApiError } from "./errors.js";
import type {
  ConsumeInput,
  ConsumeResult,
  EraseOrgInput,
  EraseResult,
  EraseUserInput,
  ExportUserInput,
  ExportUserResult,
  IssueSignatureTokenInput,
  IssueSignatureTokenResult,
  PublishInput,
  PublishResult,
  ReleaseInput,
  ReleaseResult,
  SetQuotaInput,
  SetQuotaResult,
  UnpublishInput,
  UnpublishResult,
  UploadsOperation,
  UsageInput,
  UsageResult,
} from "./operations.js";
import type { UploadsTransport } from "./transport.js";

/**
 * `retries`: attempts after the first (default 3); `minDelayMs`: the first backoff step, doubling
 * with jitter (default 100 ms); `maxDelayMs`: the longest wait, and the longest `Retry-After`
 * honoured (default 2000 ms).
 */
export type UploadsRetryOptions = BackoffOptions;

/** A service's caller is usually a request in flight: shorter waits than a phone's. */
const SDK_BACKOFF: BackoffPolicy = { retries: 3, minDelayMs: 100, maxDelayMs: 2000 };

export interface UploadsClientOptions {
  transport: UploadsTransport;
  retry?: UploadsRetryOptions;
}

export interface UploadsClient {
  /** Links staged uploads to their parent, exactly once (all or nothing); see docs/API.md. */
  consume(input: ConsumeInput): Promise<ConsumeResult>;
  /** The parent was deleted: deletes its objects and gives their bytes back. */
  release(input: ReleaseInput): Promise<ReleaseResult>;
  /** Publishes an org's processed logo or minisite image as public, immutable, responsive renditions. */
  publish(input: PublishInput): Promise<PublishResult>;
  /** Deletes a published upload's public renditions. */
  unpublish(input: UnpublishInput): Promise<UnpublishResult>;
  /** A single-use signing link for someone without an account. */
  issueSignatureToken(input: IssueSignatureTokenInput): Promise<IssueSignatureTokenResult>;
  /** An organisation's used, reserved and quota bytes. */
  usage(input: UsageInput): Promise<UsageResult>;
  /** Overrides an organisation's quota. */
  setQuota(input: SetQuotaInput): Promise<SetQuotaResult>;
  /** One bounded step of erasing a member's uploads in an org: call again with the answered cursor until `complete`. */
  eraseUser(input: EraseUserInput): Promise<EraseResult>;
  /** One bounded step of erasing an organisation's uploads (retained records listed in the receipt). */
  eraseOrg(input: EraseOrgInput): Promise<EraseResult>;
  /** Every step of an erasure (`eraseUser` or `eraseOrg` called with each answered cursor) up to its receipt. */
  eraseUntilComplete(input: EraseUserInput | EraseOrgInput): Promise<Extract<EraseResult, { status: "complete" }>>;
  /** One page of a member's uploads with signed URLs of their best copies. */
  exportUser(input: ExportUserInput): Promise<ExportUserResult>;
}

export function createUploadsClient(options: UploadsClientOptions): UploadsClient {
  const { transport } = options;
  const policy = backoffPolicy(options.retry, SDK_BACKOFF);

  async function call<T>(operation: UploadsOperation, payload: unknown): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      let failure: UploadsApiError;
      try {
        const reply = await transport.invoke(operation, payload);
        const error = errorOfReply(operation, reply);
        if (!error) return reply as T;
        failure = error;
      } catch (error) {
        failure = error instanceof UploadsApiError ? error : new UploadsApiError("INTERNAL", `The ${operation} transport failed.`, { operation, cause: error });
      }
      const delay = failure.retryable ? retryDelay(policy, attempt, failure.retryAfterMs) : undefined;
      if (delay === undefined) throw failure;
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }

  return {
    async consume(input) {
      // Made once, before the first attempt: every retry carries the same key, so a consume
      // that was applied but whose reply was lost is replayed, not refused as ALREADY_CONSUMED.
      const idempotencyKey = input.idempotencyKey ?? crypto.randomUUID();
      const result = await call<Omit<ConsumeResult, "idempotencyKey">>("consume", { ...input, idempotencyKey });
      return { ...result, idempotencyKey };
    },
    release: (input) => call("release", input),
    publish: (input) => call("publish", input),
    unpublish: (input) => call("unpublish", input),
    issueSignatureToken: (input) => call("issue-signature-token", input),
    usage: (input) => call("usage", input),
    setQuota: (input) => call("set-quota", input),
    eraseUser: (input) => call("erase-user", input),
    eraseOrg: (input) => call("erase-org", input),
    async eraseUntilComplete(input) {
      const operation = "userId" in input && input.userId !== undefined ? "erase-user" : "erase-org";
      let cursor = input.cursor;
      for (;;) {
        // Each step is retried on its own (same cursor, same key): a step that ran but whose answer was lost repeats safely.
        const result = await call<EraseResult>(operation, { ...input, ...(cursor === undefined ? {} : { cursor }) });
        if (result.status === "complete") return result;
        cursor = result.cursor;
      }
    },
    exportUser: (input) => call("export-user", input),
  };
}
