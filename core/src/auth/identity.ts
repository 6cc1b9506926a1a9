import type { Role } from "../policies/owner-types.js";

/** Who is calling, as established by a verified session token. */
export interface Identity {
  userId: string;
  /** The active organisation; null when the session has none (may upload nothing). */
  orgId: string | null;
  /** Role in the active organisation; null when absent or not one of ours. */
  role: Role | null;
}

/** The authentication port: a bearer token in, a verified identity out. */
export interface Authenticator {
  /** Throws UnauthenticatedError for a missing, malformed, expired or forged token. */
  authenticate(bearerToken: string | undefined): Promise<Identity>;
}
