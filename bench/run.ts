import { createHash, randomBytes } from "node:crypto";
import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { MemoryStore } from "@fitkit/core/adapters/memory/memory-store";
import { createIoredisClient, IoredisDriver } from "@fitkit/core/adapters/redis/ioredis-driver";
import { RedisStore } from "@fitkit/core/adapters/redis/redis-store";
import { UpstashDriver } from "@fitkit/core/adapters/redis/upstash-driver";
import { FastUrlSigner } from "@fitkit/core/adapters/s3/fast-url-signer";
import { createS3Client } from "@fitkit/core/adapters/s3/s3-client";
import { S3ObjectStore } from "@fitkit/core/adapters/s3/s3-object-store";
import type { Identity } from "@fitkit/core/auth/identity";
import { createUrlMemo, signedUrls } from "@fitkit/core/signed-urls/signed-urls";
import { consume } from "@fitkit/core/staging/consume";
import { presign } from "@fitkit/core/staging/presign";
import { sweep } from "@fitkit/core/staging/sweeper";
import type { UrlSigner } from "@fitkit/core/storage/url-signer";
import type { NewUpload } from "@fitkit/core/uploads/upload";
import { startEmbeddedS3 } from "../local/embedded-s3.js";
import { CountingDriver, CountingObjectStore } from "../support/counting.js";
import { pngImage } from "../support/media.js";
import { startRedisServer } from "../support/redis-server.js";
import { createUpstashTestClient, startUpstashBridge } from "../support/upstash-bridge.js";
import { benchBundles, bundleRows } from "./bundles.js";
import { benchMedia, mediaRows } from "./media.js";
import { benchMinisite, minisiteRows } from "./minisite.js";
import { benchMultipart, multipartRows } from "./multipart.js";
import { mergeResults } from "./results.js";
import { benchSigning } from "./signing.js";
import { median, timeMs } from "./stats.js";
import { benchVideo, videoRows } from "./video.js";

const quick = process.argv.includes("--quick");
const here = dirname(fileURLToPath(import.meta.url));
const round = (value: number, digits = 2) => Number(value.toFixed(digits));

const admin: Identity = { userId: "user_bench", orgId: "org_bench", role: "admin" };
const buckets = { media: "bench-media", compliance: "bench-compliance", records: "bench-records" };
const settings = { presignTtlSeconds: 600, stagingGraceSeconds: 3600, orgQuotaBytes: 1e15, userInFlightBytes: 1e15, presignRatePerMinute: 1e9 };

/** The design signed-urls replaced, measured for comparison: a Redis cache of signed URLs (MGET, then SET EX for misses). */
async function cachedSigning(
  redis: { mget(keys: string[]): Promise<(string | null)[]>; setMany(entries: [string, string][], ttl: number): Promise<void> },
  signer: UrlSigner,
  keys: string[],
) {
  const cacheKeys = keys.map((k) => `{fku}:bench-url:${createHash("sha256").update(k).digest("hex")}`);
  const hits = await redis.mget(cacheKeys);
  const misses: [string, string][] = [];
  await Promise.all(
    keys.map(async (key, i) => {
      if (hits[i]) return;
      misses.push([cacheKeys[i]!, await signer.presignGet({ bucket: buckets.media, key, expiresInSeconds: 3600 })]);
    }),
  );
  if (misses.length > 0) await redis.setMany(misses, 3300);
}

/** The sections `--only` can run alone: each measures, merges its section and returns its rows. */
const SINGLE_SECTIONS = {
  bundles: async () => {
    const bundles = await benchBundles({ quick });
    await mergeResults("bundles", bundles);
    return bundleRows(bundles);
  },
  multipart: async () => {
    const multipart = await benchMultipart({ quick });
    await mergeResults("multipart", { quick, date: new Date().toISOString(), ...multipart });
    return multipartRows(multipart);
  },
  video: async () => {
    const video = await benchVideo({ quick });
    await mergeResults("video", video);
    return videoRows(video);
  },
  media: async () => {
    const [redis, s3] = await Promise.all([
      startRedisServer(),
      mkdtemp(join(tmpdir(), "fitkit-bench-")).then((directory) => startEmbeddedS3({ directory, buckets: Object.values(buckets) })),
    ]);
    const bridge = await startUpstashBridge({ redisUrl: redis.url });
    const ioredis = createIoredisClient(redis.url);
    try {
      const connection = { endpoint: s3.endpoint, region: s3.region, accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey };
      const media = await benchMedia({
        quick,
        objects: new S3ObjectStore(createS3Client(connection)),
        signer: new FastUrlSigner(connection),
        buckets,
        stores: {
          ioredis: new RedisStore(new IoredisDriver(ioredis)),
          upstash: new RedisStore(new UpstashDriver(createUpstashTestClient(bridge))),
        },
      });
      await mergeResults("media", media);
      return mediaRows(media);
    } finally {
      ioredis.disconnect();
      await bridge.close();
      await redis.close();
      await s3.close();
    }
  },
  minisite: async () => {
    const minisite = await benchMinisite({ quick });
    await mergeResults("minisite", minisite);
    return minisiteRows(minisite);
  },
};

async function main() {
  // `--only <section>`: that section alone, merged into results.json (the others are kept as they are).
  if (process.argv.includes("--only")) {
    const only = process.argv[process.argv.indexOf("--only") + 1] ?? "";
    if (!Object.hasOwn(SINGLE_SECTIONS, only)) throw new Error(`--only knows ${Object.keys(SINGLE_SECTIONS).join(", ")} (not ${only})`);
    const rows = await SINGLE_SECTIONS[only as keyof typeof SINGLE_SECTIONS]();
    printRows(rows);
    console.log(`\nwritten: bench/results.json → ${only}${quick ? " (--quick)" : ""}`);
    return;
  }
  const results: Record<string, unknown> = { quick, node: process.version, date: new Date().toISOString() };
  const rounds = quick ? 15 : 60;

  console.error("signing…");
  results.signing = await benchSigning({ quick });

  const [redis, s3] = await Promise.all([
    startRedisServer(),
    mkdtemp(join(tmpdir(), "fitkit-bench-")).then((directory) => startEmbeddedS3({ directory, buckets: Object.values(buckets) })),
  ]);
  const bridge = await startUpstashBridge({ redisUrl: redis.url });
  const ioredis = createIoredisClient(redis.url);
  const upstash = createUpstashTestClient(bridge);
  const connection = { endpoint: s3.endpoint, region: s3.region, accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey };
  const signer = new FastUrlSigner(connection);
  try {
    console.error("signed URLs…");
    // Videos: signed as uploaded, so this measures signing alone (images add one batched store read).
    const keys = Array.from({ length: 100 }, () => `${admin.orgId}/message/${admin.userId}/${randomBytes(16).toString("hex")}.mp4`);
    const variants = new MemoryStore();
    const clients = {
      ioredis: {
        mget: (k: string[]) => ioredis.mget(...k),
        setMany: async (entries: [string, string][], ttl: number) =>
          void (await entries.reduce((p, [k, v]) => p.set(k, v, "EX", ttl), ioredis.pipeline()).exec()),
      },
      upstash: {
        mget: (k: string[]) => upstash.mget<(string | null)[]>(...k),
        setMany: async (entries: [string, string][], ttl: number) =>
          void (await entries.reduce((p, [k, v]) => p.set(k, v, { ex: ttl }), upstash.pipeline()).exec()),
      },
    };
    const noCacheMs = round(await timeMs(() => signedUrls({ signer, buckets, variants }, admin, { keys, expiresIn: 3600 }), rounds), 3);
    const signedUrls100: Record<string, unknown> = {
      // What the service does: sign every URL (time-bucketed dates), or hit the in-process memo.
      project: {
        noCacheMs,
        memoWarmMs: round(await timeMs(() => signedUrls({ signer, buckets, variants, memo: sharedMemo }, admin, { keys, expiresIn: 3600 }), rounds), 3),
        redisRoundTrips: 0,
      },
    };
    for (const [name, client] of Object.entries(clients)) {
      await ioredis.flushall();
      const cold = await timeMs(
        async () => {
          await ioredis.flushall();
          await cachedSigning(client, signer, keys);
        },
        Math.ceil(rounds / 3),
      );
      await cachedSigning(client, signer, keys);
      const warm = await timeMs(() => cachedSigning(client, signer, keys), rounds);
      // The alternative: a Redis cache of signed URLs in front of the same signer.
      signedUrls100[name] = { noCacheMs, coldCacheMs: round(cold), warmCacheMs: round(warm), redisRoundTrips: { cold: 2, warm: 1 } };
    }
    results.signedUrls100 = signedUrls100;

    console.error("presign…");
    const driver = new CountingDriver(new IoredisDriver(ioredis));
    const store = new RedisStore(driver);
    const presignOnce = () =>
      presign({ store, signer, settings, mediaBucket: buckets.media }, admin, {
        ownerType: "progress_photo",
        files: [{ contentType: "image/png", size: 1000 }],
      });
    const presignRounds = quick ? 200 : 1000;
    await presignOnce();
    driver.reset();
    const presignStart = performance.now();
    for (let i = 0; i < presignRounds; i++) await presignOnce();
    const upstashStore = new RedisStore(new UpstashDriver(upstash));
    const upstashPresignMs = await timeMs(
      () =>
        presign({ store: upstashStore, signer, settings, mediaBucket: buckets.media }, admin, {
          ownerType: "progress_photo",
          files: [{ contentType: "image/png", size: 1000 }],
        }),
      rounds,
    );
    results.presign = {
      usPerRequest: round(((performance.now() - presignStart) * 1000) / presignRounds, 1),
      redisRoundTrips: driver.calls.length / presignRounds,
      upstashMsPerRequest: round(upstashPresignMs),
    };

    console.error("consume…");
    const objects = new CountingObjectStore(new S3ObjectStore(createS3Client(connection)));
    const png = pngImage(16, 16);
    const consumeResults: Record<string, unknown> = {};
    for (const n of [1, 10, 100]) {
      const samples: number[] = [];
      let trips = 0;
      for (let r = 0; r < (quick ? 3 : 7); r++) {
        const uploads = [];
        for (let i = 0; i < n; i += 10) {
          uploads.push(
            ...(
              await presign({ store, signer, settings, mediaBucket: buckets.media }, admin, {
                ownerType: "message",
                files: Array.from({ length: Math.min(10, n - i) }, () => ({ contentType: "image/png", size: png.length })),
              })
            ).uploads,
          );
        }
        await Promise.all(uploads.map((u) => (u.mode === "single" ? fetch(u.url, { method: "PUT", headers: u.headers, body: png as BodyInit }) : undefined)));
        driver.reset();
        const start = performance.now();
        await consume(
          { store, objects },
          {
            uploadIds: uploads.map((u) => u.uploadId),
            ownerType: "message",
            owner: { orgId: admin.orgId!, userId: admin.userId },
            idempotencyKey: randomBytes(8).toString("hex"),
          },
        );
        samples.push(performance.now() - start);
        trips = driver.calls.length;
      }
      consumeResults[`n${n}`] = { ms: round(median(samples)), redisRoundTrips: trips, storageChecks: n };
    }
    results.consume = consumeResults;

    console.error("sweep 10k…");
    await ioredis.flushall();
    const expired: NewUpload[] = Array.from({ length: 10_000 }, () => {
      const uploadId = randomBytes(16).toString("hex");
      return {
        uploadId,
        ownerType: "message",
        orgId: "org_sweep",
        userId: "user_sweep",
        bucket: buckets.media,
        key: `org_sweep/message/user_sweep/${uploadId}.png`,
        contentType: "image/png",
        size: 10,
      };
    });
    for (let i = 0; i < expired.length; i += 1000)
      await store.stage({ uploads: expired.slice(i, i + 1000), lifetimeSeconds: 1, quota: { orgId: "org_sweep", defaultQuotaBytes: 1e15 } });
    await new Promise((resolve) => setTimeout(resolve, 1100));
    objects.deleteBatches = [];
    driver.reset();
    const sweepStart = performance.now();
    const report = await sweep({ store, objects, complianceBucket: buckets.compliance });
    results.sweep10k = {
      ms: round(performance.now() - sweepStart),
      deleteRequests: objects.deleteBatches.length,
      redisRoundTrips: driver.calls.length,
      deleted: report.deleted,
    };

    results.media = await benchMedia({
      quick,
      objects: new S3ObjectStore(createS3Client(connection)),
      signer,
      buckets,
      stores: { ioredis: new RedisStore(new IoredisDriver(ioredis)), upstash: upstashStore },
    });
  } finally {
    ioredis.disconnect();
    await bridge.close();
    await redis.close();
    await s3.close();
  }

  console.error("multipart…");
  results.multipart = await benchMultipart({ quick });

  console.error("video…");
  results.video = await benchVideo({ quick });

  console.error("bundles…");
  results.bundles = await benchBundles({ quick });

  console.error("minisite (Lighthouse)…");
  results.minisite = await benchMinisite({ quick });

  // Other sections (written by other benches) are kept; this run's sections replace their own.
  const file = join(here, "results.json");
  const previous = await readFile(file, "utf8").then(
    (text) => JSON.parse(text) as Record<string, unknown>,
    () => ({}),
  );
  await writeFile(file, `${JSON.stringify({ ...previous, ...results }, null, 2)}\n`);
  printTable(results);
}

const sharedMemo = createUrlMemo();

function printTable(results: Record<string, any>) {
  const rows: [string, string][] = [];
  const s = results.signing;
  rows.push([
    "signing µs/URL: SDK getSignedUrl / project / floor",
    `${round(s.sdkUsPerUrl, 1)} / ${round(s.projectUsPerUrl, 1)} / ${round(s.floorUsPerUrl, 1)}`,
  ]);
  rows.push(["signing speed-up vs SDK (goal ≥ 8)", `${round(s.speedupVsSdk, 1)}×`]);
  const u = results.signedUrls100;
  rows.push(["100 signed URLs, project (no cache) / memo warm, ms", `${u.project.noCacheMs} / ${u.project.memoWarmMs}`]);
  rows.push(["100 signed URLs, Redis cache via ioredis cold / warm, ms", `${u.ioredis.coldCacheMs} / ${u.ioredis.warmCacheMs}`]);
  rows.push(["100 signed URLs, Redis cache via Upstash cold / warm, ms", `${u.upstash.coldCacheMs} / ${u.upstash.warmCacheMs}`]);
  rows.push([
    "presign µs/request (ioredis) · Upstash ms · Redis round trips",
    `${results.presign.usPerRequest} · ${results.presign.upstashMsPerRequest} · ${results.presign.redisRoundTrips}`,
  ]);
  for (const n of ["n1", "n10", "n100"])
    rows.push([`consume ${n.slice(1)} uploads: ms · Redis round trips`, `${results.consume[n].ms} · ${results.consume[n].redisRoundTrips}`]);
  rows.push([
    "sweep 10k: ms · DeleteObjects · Redis round trips",
    `${results.sweep10k.ms} · ${results.sweep10k.deleteRequests} · ${results.sweep10k.redisRoundTrips}`,
  ]);
  if (results.bundles?.handlers) rows.push(...bundleRows(results.bundles));
  if (results.media) rows.push(...mediaRows(results.media));
  if (results.multipart) rows.push(...multipartRows(results.multipart));
  if (results.video) rows.push(...videoRows(results.video));
  if (results.minisite) rows.push(...minisiteRows(results.minisite));
  printRows(rows);
  console.log(`\nwritten: bench/results.json${results.quick ? " (--quick)" : ""}`);
}

function printRows(rows: [string, string][]) {
  const width = Math.max(...rows.map(([k]) => k.length));
  console.log(rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join("\n"));
}

await main();
process.exit(0);
