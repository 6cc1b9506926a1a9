/**
 * The API's facts that the server and the upload client (client/) both need: error codes and their
 * HTTP status, the owner types with who may create them and which types and sizes they allow, and
 * the extension each type is stored under — as the API contract states them.
 *
 * Plain data on purpose: the client bundles this module for browsers and React Native, so it
 * imports nothing (no zod, no Node built-in, no other module). test/client-bundle.test.ts fails if
 * it ever does. Server-side behaviour built on these facts lives in `errors.ts` and
 * `policies/owner-types.ts`, which import them from here.
 */

/** Every API error code → the HTTP status it is answered with (in the contract's order). */
export const HTTP_STATUS_BY_CODE = {
  INVALID_REQUEST: 400,
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  QUOTA_EXCEEDED: 403,
  NOT_FOUND: 404,
  ALREADY_CONSUMED: 409,
  TOKEN_USED: 409,
  NOT_UPLOADED: 409,
  STILL_PROCESSING: 409,
  ERASURE_IN_PROGRESS: 409,
  EXPIRED: 410,
  TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  CONTENT_MISMATCH: 422,
  MALWARE_DETECTED: 422,
  RATE_LIMITED: 429,
  DEPENDENCY_UNAVAILABLE: 503,
  INTERNAL: 500,
} as const;

export type ErrorCode = keyof typeof HTTP_STATUS_BY_CODE;

/** The API's error codes, in the contract's order. */
export const ERROR_CODES = Object.keys(HTTP_STATUS_BY_CODE) as readonly ErrorCode[];

/** The organisation roles (Clerk's `org:<role>`), least privileged first. */
export const ROLES = ["member", "coach", "admin"] as const;
export type Role = (typeof ROLES)[number];
export type BucketKind = "media" | "compliance";
/** Who may read an object through `/uploads/signed-urls`. */
export type ReadRule = "uploader-or-staff" | "org-member" | "org-admin";

export interface OwnerTypePolicy {
  /** Roles that may presign; empty means "only through its own route" (form signatures). */
  readonly createRoles: readonly Role[];
  /** Allowed MIME type → max bytes. Exact, lower-case, no parameters. */
  readonly maxBytesByType: Readonly<Record<string, number>>;
  readonly bucket: BucketKind;
  readonly read: ReadRule;
  /**
   * Whether a processed image of this type may be published (the internal `publish` operation):
   * copied as responsive renditions to the public bucket, readable by anyone without a signature.
   */
  readonly publishable: boolean;
  /**
   * Of an owner type that accepts videos: the longest video and the largest frame (pixels of any
   * video stream) processing accepts; over either, the video ends `failed` with VIDEO_TOO_LARGE.
   */
  readonly video?: VideoLimits;
}

export interface VideoLimits {
  readonly maxDurationSeconds: number;
  readonly maxPixels: number;
}

const MiB = 1024 * 1024;
const images = (maxBytes: number) => ({
  "image/jpeg": maxBytes,
  "image/png": maxBytes,
  "image/webp": maxBytes,
  "image/heic": maxBytes,
});

/**
 * The owner-type table — the one place that says who may create which upload, which types and
 * sizes are allowed, where it is stored and who may read it. Override by editing this table only.
 * `as const` keeps each row's `createRoles` literal, so `PresignableOwnerType` derives from it.
 */
const OWNER_TYPE_TABLE = {
  progress_photo: { createRoles: ROLES, maxBytesByType: images(20 * MiB), bucket: "media", read: "uploader-or-staff", publishable: false },
  exercise_comment: {
    createRoles: ROLES,
    maxBytesByType: {
      ...images(20 * MiB),
      "video/mp4": 500 * MiB,
      "video/quicktime": 500 * MiB,
      "video/webm": 500 * MiB,
    },
    bucket: "media",
    read: "org-member",
    publishable: false,
    // Form videos are short; DCI 8K (8192×4320, 35 MP) fits, a frame that would exhaust the worker does not.
    video: { maxDurationSeconds: 300, maxPixels: 40_000_000 },
  },
  message: { createRoles: ROLES, maxBytesByType: images(10 * MiB), bucket: "media", read: "org-member", publishable: false },
  organization_logo: {
    createRoles: ["admin"],
    maxBytesByType: { "image/png": 2 * MiB, "image/jpeg": 2 * MiB, "image/webp": 2 * MiB },
    bucket: "media",
    read: "org-member",
    publishable: true,
  },
  minisite_media: {
    createRoles: ["admin"],
    maxBytesByType: { "image/jpeg": 10 * MiB, "image/png": 10 * MiB, "image/webp": 10 * MiB },
    bucket: "media",
    read: "org-member",
    publishable: true,
  },
  form_signature: {
    createRoles: [],
    // Above PUBLIC_SIGNATURE_PUT_MAX_BYTES only through the direct upload (presigned PUT + complete).
    maxBytesByType: { "image/png": 5 * MiB, "image/jpeg": 5 * MiB, "application/pdf": 25 * MiB },
    bucket: "compliance",
    read: "org-admin",
    publishable: false,
  },
} as const satisfies Record<string, OwnerTypePolicy>;

export type OwnerType = keyof typeof OWNER_TYPE_TABLE;

/**
 * The largest body `PUT /public/signatures/{token}` takes. Deployed, the bytes travel through API
 * Gateway into Lambda base64-encoded, whose 6 MB invoke payload caps them near 4.4 MiB (headers
 * included); 4 MiB leaves room for the event's headers. Larger signatures use the direct upload.
 */
export const PUBLIC_SIGNATURE_PUT_MAX_BYTES = 4 * MiB;

/** The owner types an app may presign (`POST /uploads`); the others have their own route. */
export type PresignableOwnerType = {
  [T in OwnerType]: (typeof OWNER_TYPE_TABLE)[T]["createRoles"] extends readonly [] ? never : T;
}[OwnerType];

export const OWNER_TYPE_POLICIES: Readonly<Record<OwnerType, OwnerTypePolicy>> = OWNER_TYPE_TABLE;

export const OWNER_TYPES = Object.keys(OWNER_TYPE_POLICIES) as OwnerType[];

/** The file extension the server gives each allowed type (keys never carry a client's name). */
export const EXTENSION_BY_TYPE: Readonly<Record<string, string>> = {
  "image/jpeg": "jpg",
  "image/png": "png",
  "image/webp": "webp",
  "image/heic": "heic",
  "video/mp4": "mp4",
  "video/quicktime": "mov",
  "video/webm": "webm",
  "application/pdf": "pdf",
};

export const TYPE_BY_EXTENSION: Readonly<Record<string, string>> = Object.fromEntries(Object.entries(EXTENSION_BY_TYPE).map(([type, ext]) => [ext, type]));

/** An image's processed copies. */
export const IMAGE_VARIANTS = ["original", "display", "thumb"] as const;
export type ImageVariant = (typeof IMAGE_VARIANTS)[number];
/** A video's processed copies: its streams without metadata, the web-safe rendition and a frame. */
export const VIDEO_VARIANTS = ["original", "playback", "poster"] as const;
export type VideoVariant = (typeof VIDEO_VARIANTS)[number];
/** Every variant a reader may ask for: an image's copies, and a video's. */
export const MEDIA_VARIANTS = [...IMAGE_VARIANTS, "playback", "poster"] as const;
export type MediaVariant = (typeof MEDIA_VARIANTS)[number];

/*
 * Upload limits: each is stated here once, and the server's schemas, the URL signer, the
 * configuration defaults and the upload client all import it (test/one-owner.test.ts fails on a
 * literal copy elsewhere).
 */

/** Files one presign (`POST /uploads`) takes; the client presigns larger batches in groups of this. */
export const PRESIGN_MAX_FILES = 10;
/** Part URLs one `POST /uploads/{uploadId}/parts` signs: a client's window of parallel parts plus retries. */
export const MAX_PARTS_PER_SIGNING = 100;
/** The most parts a multipart upload may have (R2 and S3); part numbers are 1..MAX_PARTS. */
export const MAX_PARTS = 10_000;
/** Every part of a multipart upload but the last is at least this long (R2 and S3). */
export const MIN_PART_BYTES = 5 * MiB;
/** The longest a SigV4-presigned URL may be valid: 7 days. */
export const MAX_PRESIGN_EXPIRES_SECONDS = 604_800;
/** `UploadSettings.multipartThresholdBytes` by default: larger files are uploaded in parts. */
export const DEFAULT_MULTIPART_THRESHOLD_BYTES = 64 * MiB;
/** `UploadSettings.multipartPartBytes` by default: the preferred part size (grown when a file would need over MAX_PARTS parts). */
export const DEFAULT_MULTIPART_PART_BYTES = 8 * MiB;
