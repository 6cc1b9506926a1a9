/** GET /health — the process is up. Deliberately touches no dependency. */
import type { HealthResponse } from "@fitkit/core/health";
import { FUNCTIONS } from "../stacks/functions.js";

const body: HealthResponse = { ok: true };

export const handler = async () => ({
  statusCode: FUNCTIONS.health.successStatus,
  headers: { "content-type": "application/json; charset=utf-8", "cache-control": "no-store" },
  body: JSON.stringify(body),
});
