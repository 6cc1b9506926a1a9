/**
 * The local stack's default store (in memory) persists under UPLOADS_DATA_DIR beside the embedded
 * S3 server's objects, so a restart on the same data directory keeps both halves consistent.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { startLocalStack } from "../support/local-stack.js";
import { mp4Bytes } from "../support/media.js";
import { uniqueId } from "./support/fixtures.js";
import { postJson, putPresigned } from "./support/http.js";
import { readStoredObject } from "./support/stored-objects.js";

describe("the local stack's default store across a restart", () => {
  it("keeps linked uploads linked, replays, usage and staged uploads after SIGTERM and a restart on the same data directory", async () => {
    const dataDir = await mkdtemp(join(tmpdir(), "fitkit-persist-"));
    try {
      const userId = uniqueId("user");
      const orgId = uniqueId("org");
      const owner = { orgId, userId };
      // Videos (these stand-ins fail processing): their bytes are read straight from storage, never signed.
      const linkedBytes = mp4Bytes();
      const stagedBytes = Buffer.concat([mp4Bytes(), Buffer.alloc(16)]);

      const first = await startLocalStack({}, { dataDir });
      const token = await first.token({ userId, orgId, role: "member" });
      const presigned = await postJson(
        `${first.api}/uploads`,
        {
          ownerType: "exercise_comment",
          files: [
            { contentType: "video/mp4", size: linkedBytes.length },
            { contentType: "video/mp4", size: stagedBytes.length },
          ],
        },
        token,
      );
      const [linked, staged] = presigned.body.uploads;
      expect((await putPresigned(linked, linkedBytes)).status).toBe(200);
      expect((await putPresigned(staged, stagedBytes)).status).toBe(200);
      const consumeLinked = { uploadIds: [linked.uploadId], ownerType: "exercise_comment", owner, idempotencyKey: "linked" };
      const consumed = await first.internal("consume", consumeLinked);
      const usageBefore = await first.internal("usage", { orgId });
      await first.close(); // SIGTERM

      const second = await startLocalStack({}, { dataDir });
      try {
        const replay = await second.internal("consume", consumeLinked);
        const usageAfter = await second.internal("usage", { orgId });
        const signed = await postJson(`${second.api}/uploads/signed-urls`, { keys: [linked.key] }, await second.token({ userId, orgId, role: "member" }));
        const stored = await readStoredObject(second, linked.key);
        const stagedConsumed = await second.internal("consume", {
          uploadIds: [staged.uploadId],
          ownerType: "exercise_comment",
          owner,
          idempotencyKey: "staged",
        });
        const usageFinal = await second.internal("usage", { orgId });

        expect(consumed.status).toBe(200);
        expect(replay).toEqual(consumed);
        expect(usageAfter).toEqual(usageBefore);
        expect(usageBefore.body).toMatchObject({ used: linkedBytes.length, reserved: stagedBytes.length });
        // Still linked (signed-urls knows it: never NOT_LINKED), and storage still holds its bytes.
        expect(signed.status).toBe(200);
        expect(signed.body.urls[0].code).not.toBe("NOT_LINKED");
        expect(stored && Buffer.from(stored)).toEqual(linkedBytes);
        expect(stagedConsumed).toMatchObject({ status: 200, body: { uploads: [{ uploadId: staged.uploadId }] } });
        expect(usageFinal.body).toMatchObject({ used: linkedBytes.length + stagedBytes.length, reserved: 0 });
      } finally {
        await second.close();
      }
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  }, 60_000);

  it("keeps every presign it answered after a SIGKILL in the middle of a stream of them", async () => {
    const stack = await startLocalStack({ PRESIGN_RATE_PER_MINUTE: "100000" });
    try {
      const userId = uniqueId("user");
      const orgId = uniqueId("org");
      const token = await stack.token({ userId, orgId, role: "member" });
      const acknowledged: string[] = [];
      let killed = false;
      const sender = async (): Promise<void> => {
        while (!killed) {
          const reply = await postJson(
            `${stack.api}/uploads`,
            { ownerType: "exercise_comment", files: [{ contentType: "video/mp4", size: 1000 }] },
            token,
          ).catch(() => null);
          if (reply?.status === 201) acknowledged.push(reply.body.uploads[0].uploadId);
        }
      };
      const senders = [sender(), sender(), sender(), sender()];
      const enough = Date.now() + 30_000;
      while (acknowledged.length < 80 && Date.now() < enough) await new Promise((resolve) => setTimeout(resolve, 5));
      // Requests are in flight as the process dies: only those it answered must survive.
      const restarting = stack.killAndRestart();
      killed = true;
      await restarting;
      await Promise.all(senders);

      const after = await stack.token({ userId, orgId, role: "member" });
      const cancelled = await Promise.all(
        acknowledged.map(
          async (uploadId) => (await fetch(`${stack.api}/uploads/${uploadId}`, { method: "DELETE", headers: { authorization: `Bearer ${after}` } })).status,
        ),
      );

      expect(acknowledged.length).toBeGreaterThanOrEqual(80);
      expect(cancelled).toEqual(acknowledged.map(() => 204));
    } finally {
      await stack.close();
    }
  }, 90_000);
});
