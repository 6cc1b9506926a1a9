/** Internal `consume` — link staged uploads to a parent record, exactly once (the second stage). */
import { consume } from "@fitkit/core/staging/consume";
import { consumeRequestSchema } from "@fitkit/core/staging/schemas";
import { stagingStore } from "./lib/deps/staging-store.js";
import { objectStore } from "./lib/deps/storage.js";
import { internalOperation } from "./lib/internal.js";

export const handler = internalOperation(consumeRequestSchema, async (request) =>
  consume({ store: await stagingStore(), objects: objectStore() }, request),
);
