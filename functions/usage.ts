/** Internal `usage` — an organisation's used, reserved and quota bytes. */
import { getUsage } from "@fitkit/core/quotas/usage";
import { safeId } from "@fitkit/core/staging/schemas";
import * as z from "zod";
import { uploadSettings } from "./lib/deps/settings.js";
import { stagingStore } from "./lib/deps/staging-store.js";
import { internalOperation } from "./lib/internal.js";

export const handler = internalOperation(z.object({ orgId: safeId }), async ({ orgId }) =>
  getUsage({ store: await stagingStore(), defaultQuotaBytes: uploadSettings().orgQuotaBytes }, orgId),
);
