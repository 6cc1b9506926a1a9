/** GET /uploads/policy — the owner types the caller may presign, with their types and size limits. Reads no store. */
import { callerPolicy } from "@fitkit/core/policies/caller-policy";
import { FUNCTIONS } from "../stacks/functions.js";
import { authenticatedRoute } from "./lib/http.js";

export const handler = authenticatedRoute(async (identity) => ({ status: FUNCTIONS["upload-policy"].successStatus, body: callerPolicy(identity) }));
