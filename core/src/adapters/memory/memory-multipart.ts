/** The multipart area in memory (the twin of redis/redis-multipart.ts): a staged upload's multipart plan. */
import type { StagingStore } from "../../staging/staging-store.js";
import type { MultipartPlan } from "../../uploads/upload.js";
import { clone, type MemoryStateBase } from "./memory-state.js";

export const MemoryMultipart = <B extends MemoryStateBase>(Base: B) =>
  class MemoryMultipart extends Base implements Pick<StagingStore, "attachMultipart"> {
    async attachMultipart(uploads: { uploadId: string; multipart: MultipartPlan }[]): Promise<{ attached: string[] }> {
      const attached: string[] = [];
      for (const { uploadId, multipart } of uploads) {
        const upload = this.uploads.get(uploadId);
        if (upload?.status !== "staged" || upload.multipart) continue;
        upload.multipart = clone(multipart);
        attached.push(uploadId);
      }
      return { attached };
    }
  };
