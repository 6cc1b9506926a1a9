/**
 * The local stack supervises its embedded S3 server: a crash is logged, `/health` answers 503
 * while storage is gone, the server comes back on the same port and data directory, and when it
 * cannot come back the stack exits non-zero (for a supervisor of its own to restart).
 */
import { createServer, type Server } from "node:net";
import { describe, expect, it } from "vitest";
import { type LocalStack, startLocalStack } from "../support/local-stack.js";
import { mp4Bytes } from "../support/media.js";
import { sleep, uniqueId } from "./support/fixtures.js";
import { errorBody, postJson, putPresigned } from "./support/http.js";
import { readStoredObject } from "./support/stored-objects.js";

const startedLines = (stack: LocalStack) => stack.logs.filter((l) => l.message === "embedded S3 server started");
const exitedLines = (stack: LocalStack) => stack.logs.filter((l) => l.message === "embedded S3 server exited");

/** Binds `port` as soon as the killed server has let go of it, so restarts fail until released. */
async function holdPort(port: number): Promise<Server> {
  for (let attempt = 0; ; attempt++) {
    const server = createServer();
    try {
      await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(port, "127.0.0.1", () => resolve());
      });
      return server;
    } catch (error) {
      if (attempt > 200) throw error;
      await sleep(5);
    }
  }
}

/** presign → PUT → consume on the stack; returns the linked key and its bytes. */
async function storeOne(stack: LocalStack) {
  const userId = uniqueId("user");
  const orgId = uniqueId("org");
  const token = await stack.token({ userId, orgId, role: "member" });
  // A video stand-in (its processing fails): its bytes are never signed, so they are read straight from storage.
  const bytes = mp4Bytes();
  const presigned = await postJson(`${stack.api}/uploads`, { ownerType: "exercise_comment", files: [{ contentType: "video/mp4", size: bytes.length }] }, token);
  expect(presigned.status).toBe(201);
  const upload = presigned.body.uploads[0];
  expect((await putPresigned(upload, bytes)).status).toBe(200);
  const consumed = await stack.internal("consume", {
    uploadIds: [upload.uploadId],
    ownerType: "exercise_comment",
    owner: { orgId, userId },
    idempotencyKey: "k",
  });
  expect(consumed.status).toBe(200);
  // Linked videos are processed in the background (their poster; this stand-in fails, as it should):
  // let that settle, so none of its storage requests is caught by the server about to be killed.
  await expect
    .poll(async () => (await postJson(`${stack.api}/uploads/signed-urls`, { keys: [upload.key], variant: "poster" }, token)).body.urls[0].status, {
      timeout: 20_000,
    })
    .toBe("failed");
  return { key: upload.key as string, bytes, token };
}

describe("embedded S3 supervision on the local stack", () => {
  it("a killed S3 server is logged, /health answers 503 while it is down, and it comes back with its objects", async () => {
    const stack = await startLocalStack();
    let held: Server | undefined;
    try {
      const before = await storeOne(stack);
      const [first] = startedLines(stack);
      expect(first).toMatchObject({ pid: expect.any(Number), port: Number(new URL(stack.s3).port) });

      process.kill(first!.pid as number, "SIGKILL");
      held = await holdPort(Number(new URL(stack.s3).port));
      await expect.poll(() => exitedLines(stack).length).toBe(1);
      const down = await fetch(`${stack.api}/health`);
      expect({ status: down.status, body: await down.json() }).toEqual({ status: 503, body: errorBody("DEPENDENCY_UNAVAILABLE") });

      await new Promise((resolve) => held!.close(resolve));
      held = undefined;
      await expect.poll(() => startedLines(stack).length, { timeout: 10_000 }).toBe(2);
      const up = await fetch(`${stack.api}/health`);

      expect(exitedLines(stack)[0]).toMatchObject({ level: "ERROR", pid: first!.pid, signal: "SIGKILL" });
      expect(startedLines(stack)[1]).toMatchObject({ port: first!.port, pid: expect.any(Number) });
      expect(startedLines(stack)[1]!.pid).not.toBe(first!.pid);
      expect(up.status).toBe(200);
      // Storage works again, and still holds what it held (same data directory).
      await storeOne(stack);
      const stored = await readStoredObject(stack, before.key);
      expect(stored && Buffer.from(stored)).toEqual(before.bytes);
    } finally {
      held?.close();
      await stack.close();
    }
  }, 60_000);

  it("when the S3 server cannot be restarted, the stack gives up after a bounded number of attempts and exits non-zero", async () => {
    const stack = await startLocalStack();
    let held: Server | undefined;
    try {
      const [first] = startedLines(stack);
      process.kill(first!.pid as number, "SIGKILL");
      held = await holdPort(Number(new URL(stack.s3).port));

      const exitCode = await stack.exitCode();

      expect(exitCode).not.toBe(0);
      expect(stack.logs.filter((l) => l.message === "embedded S3 server could not be restarted").length).toBeGreaterThanOrEqual(1);
      expect(stack.logs.at(-1)).toMatchObject({ level: "ERROR", message: "embedded S3 server is down for good: stopping the stack" });
    } finally {
      held?.close();
      await stack.close();
    }
  }, 60_000);
});
