/** The public signature upload's rules, on in-memory fakes with a controllable clock. */
import { beforeEach, describe, expect, it } from "vitest";
import { pngImage } from "../../../support/media.js";
import { MemoryObjectStore } from "../adapters/memory/memory-object-store.js";
import { MemoryStore } from "../adapters/memory/memory-store.js";
import { issueSignatureToken } from "./issue-signature-token.js";
import { publicSignatureUpload } from "./public-signature-upload.js";

let now = 1_800_000_000_000;
const clock = { now: () => now };
let store: MemoryStore;
let objects: MemoryObjectStore;
const settings = { presignTtlSeconds: 600, stagingGraceSeconds: 3600, orgQuotaBytes: 1e9, publicPutRatePerMinute: 3 };

beforeEach(() => {
  store = new MemoryStore(clock);
  objects = new MemoryObjectStore();
});

const deps = () => ({ store, tokens: store, objects, settings, complianceBucket: "compliance" });
const put = (token: string, body = pngImage(), clientIp = "203.0.113.7") => publicSignatureUpload(deps(), { token, contentType: "image/png", body, clientIp });
const issue = async (ttlSeconds = 3600) =>
  (await issueSignatureToken({ tokens: store }, { orgId: "org_1", formId: "form_1", submissionId: "sub_1", ttlSeconds })).token;

describe("signature tokens", () => {
  it("stores only the token's hash", async () => {
    const token = await issue();
    expect(JSON.stringify([...(store as unknown as { tokens: Map<string, unknown> }).tokens])).not.toContain(token);
  });

  it("an expired token is 410 EXPIRED; once used and expired it is 404 like an unknown one", async () => {
    const unused = await issue(60);
    const used = await issue(60);
    await put(used);
    now += 61_000;

    await expect(put(unused)).rejects.toMatchObject({ code: "EXPIRED", status: 410 });
    await expect(put(used)).rejects.toMatchObject({ code: "NOT_FOUND", status: 404 });
  });

  it("storage down at the PUT is 503, leaves nothing staged, and does not burn the token", async () => {
    const token = await issue();
    objects.failNext.add("put");

    await expect(put(token)).rejects.toMatchObject({ code: "DEPENDENCY_UNAVAILABLE", status: 503 });
    expect(store.uploads.size).toBe(0);
    expect(await store.usage("org_1", 1e9)).toMatchObject({ reserved: 0 });
    await expect(put(token)).resolves.toMatchObject({ size: pngImage().length });
  });

  it("a key already taken in storage (a concurrent writer) is 503: its object is left alone, nothing staged, the token unburnt", async () => {
    const token = await issue();
    const realPut = objects.put.bind(objects);
    objects.put = async (input) => {
      objects.put = realPut; // once
      await realPut({ ...input, body: new Uint8Array([9]) }); // another writer gets there first
      return realPut(input);
    };

    await expect(put(token)).rejects.toMatchObject({ code: "DEPENDENCY_UNAVAILABLE", status: 503 });
    expect([...objects.objects.values()].map((o) => o.body)).toEqual([new Uint8Array([9])]);
    expect(store.uploads.size).toBe(0);
    expect(await store.usage("org_1", 1e9)).toMatchObject({ reserved: 0 });
    await expect(put(token)).resolves.toMatchObject({ size: pngImage().length });
  });

  it("stores the upload as a staged form_signature with its metadata, on the sweeper's list", async () => {
    const token = await issue();
    const { uploadId, sha256 } = await put(token);

    expect(store.uploads.get(uploadId)).toMatchObject({
      ownerType: "form_signature",
      orgId: "org_1",
      userId: null,
      bucket: "compliance",
      key: `incoming/org_1/${uploadId}.png`,
      status: "staged",
      sha256,
      meta: { formId: "form_1", submissionId: "sub_1" },
    });
    expect(store.deadlines.get(uploadId)).toBe(now + 4200_000);
    expect(objects.objects.get(`compliance/incoming/org_1/${uploadId}.png`)?.checksumSha256).toBe(sha256);
  });

  it("limits PUTs per client address with 429 and a retry time", async () => {
    for (let i = 0; i < 3; i++) await expect(put("A".repeat(43))).rejects.toMatchObject({ code: "NOT_FOUND" });

    await expect(put("A".repeat(43))).rejects.toMatchObject({ code: "RATE_LIMITED", status: 429, retryAfterSeconds: 60 });
    await expect(put("A".repeat(43), pngImage(), "198.51.100.1")).rejects.toMatchObject({ code: "NOT_FOUND" });
  });
});
