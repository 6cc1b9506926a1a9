/**
 * The owner-type policies of the API contract: who may create which upload, which
 * types and sizes are allowed, where it is stored and who may read it. The table itself is in
 * `contract/catalog.ts`, shared with the upload client (edit it there); this module adds the
 * server's look-ups and re-exports it for core.
 */
import { OWNER_TYPE_POLICIES, type OwnerType, ROLES, type Role } from "../contract/catalog.js";

export {
  type BucketKind,
  EXTENSION_BY_TYPE,
  OWNER_TYPE_POLICIES,
  OWNER_TYPES,
  type OwnerType,
  type OwnerTypePolicy,
  type PresignableOwnerType,
  type ReadRule,
  ROLES,
  type Role,
  TYPE_BY_EXTENSION,
  type VideoLimits,
} from "../contract/catalog.js";

export function isRole(value: string): value is Role {
  return (ROLES as readonly string[]).includes(value);
}

export function isOwnerType(value: string): value is OwnerType {
  return Object.hasOwn(OWNER_TYPE_POLICIES, value);
}

/** Max bytes for a type under an owner type, or undefined when the type is not allowed. */
export function maxBytesFor(ownerType: OwnerType, contentType: string): number | undefined {
  const limits = OWNER_TYPE_POLICIES[ownerType].maxBytesByType;
  return Object.hasOwn(limits, contentType) ? limits[contentType] : undefined;
}

/** Images and video render inline; anything else is served as an attachment. */
export function isInlineType(contentType: string): boolean {
  return contentType.startsWith("image/") || contentType.startsWith("video/");
}
