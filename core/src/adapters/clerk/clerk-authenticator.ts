/**
 * Authentication with Clerk session tokens (`verifyToken`), networkless when a PEM `jwtKey` is
 * configured. As Clerk's SDK does, a pending session (`sts: "pending"`: a task such as a forced
 * password reset is still to be done) counts as signed out, and the active organisation comes from
 * the claims of the token's version only: `o: { id, rol }` in version 2 (`v: 2`), `org_id` /
 * `org_role` in version 1 (no `v`, or `v: 1`).
 */
import { createHash } from "node:crypto";
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
  /** Clerk's `verifyToken` unless given (tests count calls through it). */
  verify?: typeof verifyToken;
  /** Milliseconds since the epoch; `Date.now` unless given. */
  now?: () => number;
}

/** Tokens remembered as verified, at most; the oldest is forgotten first. */
const VERIFIED_TOKENS_KEPT = 10_000;

function roleOf(raw: unknown): Role | null {
  if (typeof raw !== "string") return null;
  const role = raw.startsWith("org:") ? raw.slice(4) : raw;
  return isRole(role) ? role : null;
}

/** The organisation claims of the token's claims version; null for a version we do not know. */
function organisationClaims(claims: Record<string, unknown>): { id: unknown; role: unknown } | null {
  if (claims.v === 2) {
    const o = claims.o;
    return o !== null && typeof o === "object" ? { id: (o as { id?: unknown }).id, role: (o as { rol?: unknown }).rol } : null;
  }
  if (claims.v === undefined || claims.v === 1) return { id: claims.org_id, role: claims.org_role };
  return null;
}

/**
 * The identity a verified Clerk payload describes. Invariant: only an active session (`sts`
 * absent or "active") authenticates, and the organisation is read from its own version's claims,
 * never from claims another version would write.
 */
export function identityFromClaims(claims: Record<string, unknown>): Identity {
  const sub = claims.sub;
  if (typeof sub !== "string" || !isSafeSegment(sub)) throw new UnauthenticatedError("The token has no usable subject.");
  // A pending session has a task to complete first; anything but active is not signed in.
  if (claims.sts !== undefined && claims.sts !== "active") throw new UnauthenticatedError("The session is not active.");
  const org = organisationClaims(claims);
  const orgId = typeof org?.id === "string" ? org.id : null;
  if (!orgId || !isSafeSegment(orgId)) return { userId: sub, orgId: null, role: null };
  return { userId: sub, orgId, role: roleOf(org!.role) };
}

/**
 * Invariant: a token authenticates only if Clerk's `verifyToken` accepted it with these options and
 * it has not expired since. A verified token's identity is remembered (by the token's SHA-256)
 * until its `exp`, so a browser's requests within one session token's life (Clerk's are short)
 * pay for one RSA verification, not one each: a session token is a stateless JWT, which networkless
 * verification never checks for revocation either, so remembering it accepts nothing more.
 */
export class ClerkAuthenticator implements Authenticator {
  private readonly verified = new Map<string, { identity: Identity; expiresAtMs: number }>();
  private readonly verify: typeof verifyToken;
  private readonly now: () => number;

  constructor(private readonly options: ClerkAuthenticatorOptions) {
    this.verify = options.verify ?? verifyToken;
    this.now = options.now ?? Date.now;
  }

  async authenticate(bearerToken: string | undefined): Promise<Identity> {
    if (!bearerToken) throw new UnauthenticatedError("A bearer session token is required.");
    const id = createHash("sha256").update(bearerToken).digest("base64");
    const known = this.verified.get(id);
    if (known && this.now() < known.expiresAtMs) return { ...known.identity };
    if (known) this.verified.delete(id);
    let claims: Record<string, unknown>;
    try {
      claims = (await this.verify(bearerToken, {
        ...(this.options.jwtKey ? { jwtKey: this.options.jwtKey } : {}),
        ...(this.options.secretKey ? { secretKey: this.options.secretKey } : {}),
        ...(this.options.authorizedParties.length > 0 ? { authorizedParties: this.options.authorizedParties } : {}),
      })) as unknown as Record<string, unknown>;
    } catch {
      // Never echo the verifier's text: it can quote token contents.
      throw new UnauthenticatedError("The session token is invalid or expired.");
    }
    const identity = identityFromClaims(claims);
    if (typeof claims.exp === "number") {
      if (this.verified.size >= VERIFIED_TOKENS_KEPT) this.verified.delete(this.verified.keys().next().value!);
      this.verified.set(id, { identity: { ...identity }, expiresAtMs: claims.exp * 1000 });
    }
    return identity;
  }
}
