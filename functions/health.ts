/** GET /health — the process is up. Deliberately touches no dependency. */
import type { HealthResponse } from "@fitkit/core/health";
import { SUCCESS_STATUS } from "../stacks/functions.js";

const body: HealthResponse = { ok: true };

export const handler = async () => ({
  statusCode: SUCCESS_STATUS.health,
  headers: { "content-type": "application/json; charset=utf-8", "cache-control": "no-store" },
  body: JSON.stringify(body),
});
