/**
 * `@fitkit/uploads-sdk` — for the services that write parent records (progress entries, comments,
 * messages, form submissions): typed calls to FitKit Uploads' internal operations.
 *
 * ```ts
 * const uploads = createUploadsClient({ transport: lambdaTransport({ functionNames: { consume: Resource.UploadsConsume.name } }) });
 * const { uploads: linked, idempotencyKey } = await uploads.consume({ uploadIds, ownerType: "progress_photo", owner: { orgId, userId } });
 * ```
 */
export { createUploadsClient, type UploadsClient, type UploadsClientOptions, type UploadsRetryOptions } from "./client.js";
export { type ErrorCode, isUploadsApiError, UploadsApiError, type UploadsApiErrorOptions } from "./errors.js";
export { type HttpTransportOptions, httpTransport } from "./http-transport.js";
export { type LambdaTransportOptions, lambdaTransport } from "./lambda-transport.js";
export {
  type ConsumeInput,
  type ConsumeResult,
  type EraseOrgInput,
  type EraseResult,
  type EraseUserInput,
  type ExportUserInput,
  type ExportUserResult,
  type IssueSignatureTokenInput,
  type IssueSignatureTokenResult,
  type PublishInput,
  type PublishResult,
  type ReleaseInput,
  type ReleaseResult,
  type SetQuotaInput,
  type SetQuotaResult,
  type UnpublishInput,
  type UnpublishResult,
  UPLOADS_OPERATIONS,
  type UploadsOperation,
  type UsageInput,
  type UsageResult,
} from "./operations.js";
export type { UploadsTransport } from "./transport.js";
