/**
 * The `multipart` section of `npm run bench`: the real upload client (client/, in Node, fetch
 * transport) sending a large video in parts to the local stack as `npm start` runs it (a separate
 * process; SigV4-checking S3 server on loopback), measured against one PUT of the same bytes to
 * the same server in the same run:
 *
 * - throughput in parts vs one PUT (goal: within 20 %);
 * - bytes sent again after an interruption at a random point (goal: at most one part): one
 *   connection dropped (the part on it is retried), and the whole network lost with every part in
 *   flight, after which the upload is resumed as after a reload (`upload()` of the same File);
 * - requests to the API per 100 parts (presign, signing in batches, complete).
 */
import { randomBytes } from "node:crypto";
import { createUploader } from "../client/index.js";
import type { ResumeStorage } from "../client/resume-store.js";
import { type LocalStack, startLocalStack } from "../support/local-stack.js";
import { mp4Bytes } from "../support/media.js";
import { median } from "./stats.js";

const MiB = 1024 * 1024;
const round = (value: number, digits = 2) => Number(value.toFixed(digits));

export interface MultipartBenchResult {
  sizeMiB: number;
  partSizeMiB: number;
  parts: number;
  partConcurrency: number;
  rounds: number;
  /** Median MiB/s of the whole upload in parts (presign → parts → complete) and of one PUT of the same bytes. */
  multipartMiBps: number;
  /** The same upload until its last part was stored (the local server's complete copies every byte once more; R2's does not). */
  partsOnlyMiBps: number;
  singlePutMiBps: number;
  /** multipart / single PUT: the goal is ≥ 0.8. */
  throughputRatio: number;
  partsOnlyRatio: number;
  /** Bytes sent beyond the file's size after an interruption at a random point, in parts (mean and worst of the trials). */
  resent: {
    trials: number;
    connectionDrop: { meanParts: number; maxParts: number };
    networkLossThenResume: { meanParts: number; maxParts: number };
    /** What one PUT loses to the same interruptions: everything sent so far. */
    singlePutMeanParts: number;
  };
  /** API requests of one upload of `parts` parts (presign + part signings + complete), and per 100 parts. */
  apiRequests: { parts: number; presign: number; signings: number; complete: number; perHundredParts: number };
}

class MemoryStorage implements ResumeStorage {
  private readonly items = new Map<string, string>();
  getItem = (key: string) => this.items.get(key) ?? null;
  setItem = (key: string, value: string) => void this.items.set(key, value);
  removeItem = (key: string) => void this.items.delete(key);
}

/**
 * A fetch that counts the bytes each PUT's streamed body hands to the network and the API requests,
 * and can interrupt at a byte count: the part crossing it fails as a reset connection does, and with
 * `network`, every part in flight and every later request fail too (the device lost its network).
 */
function meteredFetch(interrupt?: { atByte: number; network: boolean }) {
  const counts = { sentBytes: 0, presign: 0, signings: 0, complete: 0, partNumbers: new Set<number>(), partSize: 0, lastPartStoredAt: 0, api: [] as string[] };
  let interrupted = false;
  let down = false;
  const wrapped: typeof fetch = async (input, init = {}) => {
    if (down) throw new TypeError("fetch failed", { cause: new Error("network down (bench)") });
    const path = new URL(String(input)).pathname;
    if (init.method === "POST" && path === "/uploads") counts.presign++;
    if (init.method === "POST" && path.endsWith("/parts")) counts.signings++;
    if (init.method === "POST" && path.endsWith("/complete")) counts.complete++;
    if (init.method !== "PUT" || !(init.body instanceof ReadableStream)) {
      const response = await fetch(input, init);
      counts.api.push(`${init.method ?? "GET"} ${path} ${response.status}`);
      return response;
    }
    counts.partNumbers.add(Number(new URL(String(input)).searchParams.get("partNumber")));
    counts.partSize = Math.max(counts.partSize, Number((init.headers as Record<string, string>)["content-length"]));
    const reader = (init.body as ReadableStream<Uint8Array>).getReader();
    const body = new ReadableStream<Uint8Array>(
      {
        async pull(controller) {
          if (down) return controller.error(new TypeError("network down (bench)"));
          const { done, value } = await reader.read();
          if (done) return controller.close();
          if (interrupt && !interrupted && counts.sentBytes + value.byteLength >= interrupt.atByte) {
            interrupted = true;
            if (interrupt.network) down = true;
            await reader.cancel();
            return controller.error(new TypeError("connection reset (bench)"));
          }
          counts.sentBytes += value.byteLength;
          controller.enqueue(value);
        },
        cancel: (reason) => reader.cancel(reason),
      },
      { highWaterMark: 0 },
    );
    const response = await fetch(input, { ...init, body } as RequestInit);
    counts.lastPartStoredAt = performance.now();
    return response;
  };
  return { fetch: wrapped, counts };
}

export async function benchMultipart({ quick }: { quick: boolean }): Promise<MultipartBenchResult> {
  const size = (quick ? 70 : 200) * MiB;
  const rounds = quick ? 1 : 3;
  const trials = quick ? 2 : 5;
  const partConcurrency = 4;
  const quotas = { ORG_QUOTA_BYTES: String(64 * 1024 * MiB), USER_IN_FLIGHT_BYTES: String(16 * 1024 * MiB) };
  // The server's defaults (8 MiB parts) for throughput and interruptions; 5 MiB parts (R2's least)
  // for the request count, so that a 500 MiB video (the policy's largest) is exactly 100 parts.
  const [stack, smallParts] = await Promise.all([startLocalStack(quotas), startLocalStack({ ...quotas, MULTIPART_PART_BYTES: String(5 * MiB) })]);
  try {
    const who = { userId: "user_bench_mp", orgId: "org_bench_mp" };
    const bytes = video(size);
    const file = (name: string, content = bytes) => new File([content], name, { type: "video/mp4", lastModified: 1_764_000_000_000 });
    const uploaderOn = async (on: LocalStack, fetchFn: typeof fetch, options: { resumeStorage?: ResumeStorage; retries?: number } = {}) => {
      const token = await on.token({ ...who, role: "member" });
      return createUploader({
        apiBaseUrl: on.api,
        getToken: () => token,
        fetch: fetchFn,
        partConcurrency,
        retry: { retries: options.retries ?? 4, minDelayMs: 20, maxDelayMs: 200 },
        resumeStorage: options.resumeStorage ?? null,
      });
    };
    const uploader = (fetchFn: typeof fetch, options?: { resumeStorage?: ResumeStorage; retries?: number }) => uploaderOn(stack, fetchFn, options);

    // Throughput: the same bytes, one PUT (presigned with the single-PUT opt-out) and in parts, in turn.
    const singleMs: number[] = [];
    const multipartMs: number[] = [];
    const partsOnlyMs: number[] = [];
    let plan = { partSize: 0, parts: 0 };
    for (let round = 0; round <= rounds; round++) {
      const put = await singlePut(stack, await stack.token({ ...who, role: "member" }), bytes);
      const metered = meteredFetch();
      const client = await uploader(metered.fetch);
      const started = performance.now();
      await client.upload(file(`bench-${round}.mp4`), { ownerType: "exercise_comment" });
      const elapsed = performance.now() - started;
      if (round === 0) continue; // warm-up
      singleMs.push(put);
      multipartMs.push(elapsed);
      partsOnlyMs.push(metered.counts.lastPartStoredAt - started);
      plan = { partSize: metered.counts.partSize, parts: metered.counts.partNumbers.size };
    }

    // Interruptions at a random point: bytes sent beyond the file's size.
    const resentParts = { connection: [] as number[], network: [] as number[], single: [] as number[] };
    for (let trial = 0; trial < trials; trial++) {
      const atByte = Math.floor(size * (0.1 + 0.8 * Math.random()));
      resentParts.single.push(atByte / plan.partSize);

      const dropped = meteredFetch({ atByte, network: false });
      await (await uploader(dropped.fetch)).upload(file(`drop-${trial}.mp4`), { ownerType: "exercise_comment" });
      resentParts.connection.push((dropped.counts.sentBytes - size) / plan.partSize);

      const storage = new MemoryStorage();
      const lost = meteredFetch({ atByte, network: true });
      const crash = await (await uploader(lost.fetch, { resumeStorage: storage, retries: 0 }))
        .upload(file(`loss-${trial}.mp4`), { ownerType: "exercise_comment" })
        .then(
          () => "no error",
          (error: { code?: string }) => String(error.code),
        );
      if (crash !== "NETWORK_ERROR") throw new Error(`the network loss at byte ${atByte} ended the upload with ${crash}, not NETWORK_ERROR`);
      const resumed = meteredFetch();
      await (await uploader(resumed.fetch, { resumeStorage: storage })).upload(file(`loss-${trial}.mp4`), { ownerType: "exercise_comment" });
      if (resumed.counts.presign !== 0) throw new Error(`the upload after the network loss at byte ${atByte} did not resume: ${resumed.counts.api.join(", ")}`);
      resentParts.network.push((lost.counts.sentBytes + resumed.counts.sentBytes - size) / plan.partSize);
    }

    // API requests of one upload of 100 parts (20 in --quick, scaled).
    const countedParts = quick ? 20 : 100;
    const counted = meteredFetch();
    await (await uploaderOn(smallParts, counted.fetch)).upload(file("count.mp4", video(countedParts * 5 * MiB)), { ownerType: "exercise_comment" });
    if (counted.counts.partNumbers.size !== countedParts) throw new Error(`expected ${countedParts} parts, sent ${counted.counts.partNumbers.size}`);
    const { presign, signings, complete } = counted.counts;

    const mibps = (ms: number) => round(size / MiB / (ms / 1000), 1);
    const stats = (values: number[]) => ({ meanParts: round(values.reduce((a, b) => a + b, 0) / values.length), maxParts: round(Math.max(...values)) });
    return {
      sizeMiB: size / MiB,
      partSizeMiB: plan.partSize / MiB,
      parts: plan.parts,
      partConcurrency,
      rounds,
      multipartMiBps: mibps(median(multipartMs)),
      partsOnlyMiBps: mibps(median(partsOnlyMs)),
      singlePutMiBps: mibps(median(singleMs)),
      throughputRatio: round(median(singleMs) / median(multipartMs)),
      partsOnlyRatio: round(median(singleMs) / median(partsOnlyMs)),
      resent: {
        trials,
        connectionDrop: stats(resentParts.connection),
        networkLossThenResume: stats(resentParts.network),
        singlePutMeanParts: stats(resentParts.single).meanParts,
      },
      apiRequests: { parts: countedParts, presign, signings, complete, perHundredParts: round(((presign + signings + complete) * 100) / countedParts, 1) },
    };
  } finally {
    await Promise.all([stack.close(), smallParts.close()]);
  }
}

/** A real MP4 header (consume would sniff it) then random bytes. */
function video(size: number): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(size);
  bytes.set(randomBytes(size));
  bytes.set(mp4Bytes());
  return bytes;
}

/**
 * ms for one PUT of `bytes` to a URL presigned with `multipart: false` (the same server, the same
 * SigV4 checks). A PUT the server drops (a loaded machine) is tried again, from byte 0 as a single
 * PUT must; only the attempt that succeeded is timed.
 */
async function singlePut(stack: LocalStack, token: string, bytes: Uint8Array): Promise<number> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await singlePutOnce(stack, token, bytes);
    } catch (error) {
      if (attempt >= 3) throw error;
      console.error(`single PUT attempt ${attempt} failed (${(error as Error).message}); again`);
    }
  }
}

async function singlePutOnce(stack: LocalStack, token: string, bytes: Uint8Array): Promise<number> {
  const presigned = await fetch(`${stack.api}/uploads`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
    body: JSON.stringify({ ownerType: "exercise_comment", files: [{ contentType: "video/mp4", size: bytes.length, multipart: false }] }),
  });
  const [upload] = (await presigned.json()).uploads as { url: string; headers: Record<string, string> }[];
  const { "content-length": _length, ...headers } = upload!.headers;
  const started = performance.now();
  const response = await fetch(upload!.url, { method: "PUT", headers, body: bytes as BodyInit });
  await response.arrayBuffer();
  if (response.status !== 200) throw new Error(`the single PUT answered ${response.status}`);
  return performance.now() - started;
}

/** The section's rows in the printed table. */
export function multipartRows(m: MultipartBenchResult): [string, string][] {
  return [
    [
      `multipart ${m.sizeMiB} MiB (${m.parts} × ${m.partSizeMiB} MiB, ${m.partConcurrency} at a time) vs one PUT, MiB/s (goal ≥ 0.8×)`,
      `${m.multipartMiBps} vs ${m.singlePutMiBps} → ${m.throughputRatio}× (parts alone, before complete: ${m.partsOnlyMiBps} → ${m.partsOnlyRatio}×)`,
    ],
    [
      "bytes re-sent after an interruption at a random point, in parts, mean / worst (goal ≤ 1)",
      `one connection ${m.resent.connectionDrop.meanParts} / ${m.resent.connectionDrop.maxParts} · network lost + resume ${m.resent.networkLossThenResume.meanParts} / ${m.resent.networkLossThenResume.maxParts} · one PUT ${m.resent.singlePutMeanParts}`,
    ],
    [
      "API requests per 100 parts (presign + signing batches + complete)",
      `${m.apiRequests.perHundredParts} (${m.apiRequests.presign} + ${m.apiRequests.signings} + ${m.apiRequests.complete} for ${m.apiRequests.parts} parts)`,
    ],
  ];
}
