/**
 * Authentication with Clerk session tokens (`verifyToken`), networkless when a PEM `jwtKey` is
 * configured. Reads the active organisation from the v2 claim `o: { id, rol }` or the v1 claims
 * `org_id` / `org_role`.
 */
import { verifyToken } from "@clerk/backend";
import type { Authenticator, Identity } from "../../auth/identity.js";
import { UnauthenticatedError } from "../../errors.js";
import { isSafeSegment } from "../../policies/object-keys.js";
import { isRole, type Role } from "../../policies/owner-types.js";

export interface ClerkAuthenticatorOptions {
  jwtKey?: string;
  secretKey?: string;
  /** When non-empty, the token's `azp` must be one of these origins. */
  authorizedParties: string[];
}

function roleOf(raw: unknown): Role | null {
  if (typeof raw !== "string") return null;
  const role = raw.startsWith("org:") ? raw.slice(4) : raw;
  return isRole(role) ? role : null;
}

/** The identity a verified Clerk payload describes (v2 `o` claim first, then v1 claims). */
export function identityFromClaims(claims: Record<string, unknown>): Identity {
  const sub = claims.sub;
  if (typeof sub !== "string" || !isSafeSegment(sub)) throw new UnauthenticatedError("The token has no usable subject.");
  const v2 = claims.o as { id?: unknown; rol?: unknown } | undefined;
  const orgId = typeof v2?.id === "string" ? v2.id : typeof claims.org_id === "string" ? claims.org_id : null;
  const role = roleOf(v2 && typeof v2 === "object" ? v2.rol : claims.org_role);
  if (!orgId || !isSafeSegment(orgId)) return { userId: sub, orgId: null, role: null };
  return { userId: sub, orgId, role };
}

export class ClerkAuthenticator implements Authenticator {
  constructor(private readonly options: ClerkAuthenticatorOptions) {}

  async authenticate(bearerToken: string | undefined): Promise<Identity> {
    if (!bearerToken) throw new UnauthenticatedError("A bearer session token is required.");
    let claims: Record<string, unknown>;
    try {
      claims = (await verifyToken(bearerToken, {
        ...(this.options.jwtKey ? { jwtKey: this.options.jwtKey } : {}),
        ...(this.options.secretKey ? { secretKey: this.options.secretKey } : {}),
        ...(this.options.authorizedParties.length > 0 ? { authorizedParties: this.options.authorizedParties } : {}),
      })) as unknown as Record<string, unknown>;
    } catch {
      // Never echo the verifier's text: it can quote token contents.
      throw new UnauthenticatedError("The session token is invalid or expired.");
    }
    return identityFromClaims(claims);
  }
}
