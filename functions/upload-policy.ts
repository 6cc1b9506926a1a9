/** GET /uploads/policy — the owner types the caller may presign, with their types and size limits. Reads no store. */
import { callerPolicy } from "@fitkit/core/policies/caller-policy";
import { SUCCESS_STATUS } from "../stacks/functions.js";
import { authenticatedRoute } from "./lib/http.js";

export const handler = authenticatedRoute(async (identity) => ({ status: SUCCESS_STATUS["upload-policy"], body: callerPolicy(identity) }));
