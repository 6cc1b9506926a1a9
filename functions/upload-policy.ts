/** GET /uploads/policy — the owner types the caller may presign, with their types and size limits. Reads no store. */
import { callerPolicy } from "@fitkit/core/policies/caller-policy";
import { authenticatedRoute } from "./lib/http.js";

export const handler = authenticatedRoute(async (identity) => ({ status: 200, body: callerPolicy(identity) }));
