/** Internal `consume` — link staged uploads to a parent record, exactly once (the second stage). */
import { consume, consumeRequestSchema } from "@fitkit/core/staging/consume";
import { jobQueue } from "./lib/deps/job-queue.js";
import { leanObjectStore } from "./lib/deps/lean-storage.js";
import { mediaVariants } from "./lib/deps/media-variants.js";
import { scanner } from "./lib/deps/scanner.js";
import { uploadSettings } from "./lib/deps/settings.js";
import { stagingStore } from "./lib/deps/staging-store.js";
import { internalOperation } from "./lib/internal.js";
import { coreLog } from "./lib/logger.js";
import { readBucket } from "./lib/resources.js";

export const handler = internalOperation(consumeRequestSchema, async (request) =>
  consume(
    {
      store: await stagingStore(),
      objects: leanObjectStore(),
      scanner: scanner(),
      scanMaxBytes: uploadSettings().scanMaxBytes,
      complianceBucket: readBucket("ComplianceBucket"),
      recordsBucket: readBucket("RecordsBucket"),
      media: { queue: jobQueue(), outbox: await mediaVariants() },
      log: coreLog,
    },
    request,
  ),
);
