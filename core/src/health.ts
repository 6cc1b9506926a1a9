/** `GET /health`: the process is up. The handler imports only the type, so its bundle carries no zod. */
import * as z from "zod";

/** The reply of `GET /health`; documented, never parsed at run time. */
export const healthResponseSchema = z.object({ ok: z.literal(true) });
export type HealthResponse = z.output<typeof healthResponseSchema>;
