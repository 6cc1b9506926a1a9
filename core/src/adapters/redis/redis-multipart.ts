/**
 * The multipart area on Redis (multipart-scripts.ts; its in-memory twin is
 * memory/memory-multipart.ts): the plan of a staged upload that storage began as a multipart upload.
 */
import type { StagingStore } from "../../staging/staging-store.js";
import type { MultipartPlan } from "../../uploads/upload.js";
import * as scripts from "./multipart-scripts.js";
import { listOf, type RedisAreaBase } from "./redis-area.js";
import { redisKeys } from "./redis-keys.js";

export const RedisMultipart = <B extends RedisAreaBase>(Base: B) =>
  class RedisMultipart extends Base implements Pick<StagingStore, "attachMultipart"> {
    async attachMultipart(uploads: { uploadId: string; multipart: MultipartPlan }[]): Promise<{ attached: string[] }> {
      if (uploads.length === 0) return { attached: [] };
      const reply = await this.run<{ attached: number[] | Record<string, never> }>(
        scripts.ATTACH_MULTIPART,
        uploads.map((u) => redisKeys.upload(u.uploadId)),
        uploads.map((u) => JSON.stringify(u.multipart)),
      );
      return { attached: listOf(reply.attached).map((i) => uploads[i - 1]!.uploadId) };
    }
  };
