/**
 * The owner-type policy as one caller may use it (`GET /uploads/policy`): the owner types the
 * caller's role may presign, with their allowed types and size limits, so an app can refuse a file
 * before presigning it. Derived from the one owner-type table; nothing here is a second copy.
 */
import * as z from "zod";
import type { Identity } from "../auth/identity.js";
import { OWNER_TYPE_POLICIES, OWNER_TYPES, type PresignableOwnerType, ROLES } from "../contract/catalog.js";

/** The owner types `POST /uploads` takes (those with any creating role). */
const PRESIGNABLE_OWNER_TYPES = OWNER_TYPES.filter((ownerType) => OWNER_TYPE_POLICIES[ownerType].createRoles.length > 0) as [
  PresignableOwnerType,
  ...PresignableOwnerType[],
];

export const ownerTypeRulesSchema = z.object({
  ownerType: z.enum(PRESIGNABLE_OWNER_TYPES),
  /** Every role that may presign this owner type (the caller's is among them). */
  createRoles: z.array(z.enum(ROLES)),
  /** Allowed MIME type → max bytes (exact, lower-case, no parameters). */
  maxBytesByType: z.record(z.string(), z.number().int().min(1)),
});
export type OwnerTypeRules = z.output<typeof ownerTypeRulesSchema>;

/** The reply of `GET /uploads/policy`; documented, never parsed at run time. */
export const callerPolicySchema = z.object({
  /** The caller's role in the active organisation; null when it has none (then no owner type is listed). */
  role: z.enum(ROLES).nullable(),
  ownerTypes: z.array(ownerTypeRulesSchema),
});
export type CallerPolicy = z.output<typeof callerPolicySchema>;

/**
 * Invariant: lists exactly the owner types `presign` would accept from this caller — those whose
 * `createRoles` include the caller's role, stored in the media bucket — and none when the caller
 * has no active organisation or role. Pure: no I/O.
 */
export function callerPolicy(identity: Identity): CallerPolicy {
  const role = identity.orgId ? identity.role : null;
  if (!role) return { role: null, ownerTypes: [] };
  const ownerTypes = OWNER_TYPES.flatMap((ownerType): OwnerTypeRules[] => {
    const policy = OWNER_TYPE_POLICIES[ownerType];
    if (policy.bucket !== "media" || !policy.createRoles.includes(role)) return [];
    return [{ ownerType: ownerType as PresignableOwnerType, createRoles: [...policy.createRoles], maxBytesByType: { ...policy.maxBytesByType } }];
  });
  return { role, ownerTypes };
}
