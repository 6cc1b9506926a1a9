/**
 * The local stack runs many invocations in one process at once; each log line must still name the
 * invocation that wrote it (in Lambda there is one invocation per container at a time, so there it
 * holds trivially).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LocalStack, startLocalStack } from "../support/local-stack.js";
import { uniqueId } from "./support/fixtures.js";
import { postJson } from "./support/http.js";

let stack: LocalStack;
beforeAll(async () => {
  stack = await startLocalStack();
}, 30_000);
afterAll(async () => {
  await stack?.close();
});

const PER_FUNCTION = 10;

describe("log context under concurrent invocations on the local stack", () => {
  it("every log line carries its own function's name and its own request id", async () => {
    const orgId = uniqueId("org");
    const userId = uniqueId("user");
    const member = await stack.token({ orgId, userId, role: "member" });
    const presigned = await postJson(
      `${stack.api}/uploads`,
      { ownerType: "progress_photo", files: Array.from({ length: PER_FUNCTION }, () => ({ contentType: "image/png", size: 68 })) },
      member,
    );
    expect(presigned.status, JSON.stringify(presigned.body)).toBe(201);
    const uploadIds: string[] = presigned.body.uploads.map((u: { uploadId: string }) => u.uploadId);

    // Each refusal is logged ("request refused") after real I/O in its handler — the token check
    // (WebCrypto) in presign, a storage HEAD in consume — so the invocations interleave.
    const refusals = await Promise.all([
      ...uploadIds.map((id) => stack.internal("consume", { uploadIds: [id], ownerType: "progress_photo", owner: { orgId, userId }, idempotencyKey: id })),
      ...uploadIds.map(() => postJson(`${stack.api}/uploads`, { ownerType: "organization_logo", files: [{ contentType: "image/png", size: 68 }] }, member)),
    ]);
    expect(refusals.map((r) => r.body.error?.code)).toEqual([...Array(PER_FUNCTION).fill("NOT_UPLOADED"), ...Array(PER_FUNCTION).fill("FORBIDDEN")]);
    await expect.poll(() => stack.logs.filter((l) => l.message === "request refused").length).toBe(2 * PER_FUNCTION);

    const refused = stack.logs.filter((l) => l.message === "request refused");
    const functionOf: Record<string, string> = { NOT_UPLOADED: "consume", FORBIDDEN: "presign" };
    expect(refused.map((l) => ({ code: l.code, function_name: l.function_name }))).toEqual(
      refused.map((l) => ({ code: l.code, function_name: functionOf[l.code as string] })),
    );
    expect(new Set(refused.map((l) => l.function_request_id)).size).toBe(2 * PER_FUNCTION);
    // The presign above was the process's first invocation: none of these is a cold start.
    expect(refused.map((l) => l.cold_start)).toEqual(Array(2 * PER_FUNCTION).fill(false));
  }, 30_000);
});
