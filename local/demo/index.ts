/**
 * The local stack's demo page and its dev-only helper routes (served only by the local stack,
 * never deployed). See issue 9.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Authenticator } from "@fitkit/core/auth/identity";
import type { InternalHandler } from "../server.js";

export interface DemoContext {
  /** The API's own origin, e.g. http://127.0.0.1:3000. */
  api: string;
  /** The internal operations, callable in-process (e.g. consume for the dev-only link route). */
  internal: Record<string, InternalHandler>;
  /** The dev signing key, or null when CLERK_JWT_KEY points at a real Clerk instance. */
  devPrivateKeyPem: string | null;
  /** Verifies session tokens exactly as the deployed handlers do. */
  authenticator: Authenticator;
}

/** Returns a handler for the demo's routes; it answers false for any request it does not serve. */
export function createDemoRoutes(_context: DemoContext): (req: IncomingMessage, res: ServerResponse, body: Buffer) => Promise<boolean> {
  return async () => false;
}
