/**
 * The owner-type policy table (shared/API.md, "Owner types") — the one place that says who may
 * create which upload, which types and sizes are allowed, where it is stored and who may read it.
 * Override by editing this module only.
 */
/** The organisation roles (Clerk's `org:<role>`), least privileged first. */
export const ROLES = ["member", "coach", "admin"] as const;
export type Role = (typeof ROLES)[number];

export function isRole(value: string): value is Role {
  return (ROLES as readonly string[]).includes(value);
}

export type OwnerType = "progress_photo" | "exercise_comment" | "message" | "organization_logo" | "minisite_media" | "form_signature";
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
}

const MiB = 1024 * 1024;
const images = (maxBytes: number) => ({
  "image/jpeg": maxBytes,
  "image/png": maxBytes,
  "image/webp": maxBytes,
  "image/heic": maxBytes,
});

export const OWNER_TYPE_POLICIES: Readonly<Record<OwnerType, OwnerTypePolicy>> = {
  progress_photo: { createRoles: ROLES, maxBytesByType: images(20 * MiB), bucket: "media", read: "uploader-or-staff" },
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
  },
  message: { createRoles: ROLES, maxBytesByType: images(10 * MiB), bucket: "media", read: "org-member" },
  organization_logo: {
    createRoles: ["admin"],
    maxBytesByType: { "image/png": 2 * MiB, "image/jpeg": 2 * MiB, "image/webp": 2 * MiB },
    bucket: "media",
    read: "org-member",
  },
  minisite_media: {
    createRoles: ["admin"],
    maxBytesByType: { "image/jpeg": 10 * MiB, "image/png": 10 * MiB, "image/webp": 10 * MiB },
    bucket: "media",
    read: "org-member",
  },
  form_signature: {
    createRoles: [],
    maxBytesByType: { "image/png": 5 * MiB, "image/jpeg": 5 * MiB, "application/pdf": 5 * MiB },
    bucket: "compliance",
    read: "org-admin",
  },
};

export const OWNER_TYPES = Object.keys(OWNER_TYPE_POLICIES) as OwnerType[];

export function isOwnerType(value: string): value is OwnerType {
  return Object.hasOwn(OWNER_TYPE_POLICIES, value);
}

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

/** Max bytes for a type under an owner type, or undefined when the type is not allowed. */
export function maxBytesFor(ownerType: OwnerType, contentType: string): number | undefined {
  const limits = OWNER_TYPE_POLICIES[ownerType].maxBytesByType;
  return Object.hasOwn(limits, contentType) ? limits[contentType] : undefined;
}

/** Images and video render inline; anything else is served as an attachment. */
export function isInlineType(contentType: string): boolean {
  return contentType.startsWith("image/") || contentType.startsWith("video/");
}
