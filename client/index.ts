/**
 * FitKit upload client — browsers and React Native (and Node ≥ 18): presign → PUT straight to
 * storage with progress, retries and re-presign on expiry → `{ uploadId, key }` per file.
 * No Node-only dependency; see client/README.md.
 */

export {
  API_ERROR_CODES,
  type ApiErrorCode,
  type ClientErrorCode,
  isUploadClientError,
  UploadClientError,
  type UploadClientErrorCode,
} from "./errors.js";
export { fetchTransport, type PutRequest, type PutResponse, type PutTransport, type UploadBody, xhrTransport } from "./transport.js";
export {
  createUploader,
  type FileProgress,
  type FileState,
  type OwnerType,
  type RetryOptions,
  type SignedUrl,
  type UploadedFile,
  type Uploader,
  type UploaderOptions,
  type UploadInput,
  type UploadOptions,
  type UploadProgress,
  type UploadSource,
} from "./uploader.js";
