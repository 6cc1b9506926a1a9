/**
 * Definitions between the definitions bucket and a container's directory, on the embedded S3
 * server (S3's API through the real SDK), and the scheduled freshclam run with the real freshclam
 * binary: a run that cannot reach its mirror fails and publishes nothing.
 */
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DeleteObjectCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { createS3Client } from "@fitkit/core/adapters/s3/s3-client";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type EmbeddedS3, startEmbeddedS3 } from "../../local/embedded-s3.js";
import { freePort } from "../../support/child-processes.js";
import { type DefinitionsBucket, downloadDefinitions, fingerprint, uploadDefinitions } from "../src/definitions.js";
import { freshclamConfig, updateDefinitions } from "../src/update-definitions.js";

let s3: EmbeddedS3;
let client: S3Client;
let bucketCount = 0;
let store: DefinitionsBucket;

const put = (key: string, body: string) => client.send(new PutObjectCommand({ Bucket: store.bucket, Key: key, Body: body }));
const listed = async () => ((await client.send(new ListObjectsV2Command({ Bucket: store.bucket }))).Contents ?? []).map((o) => o.Key).sort();
const remote = async (key: string) => (await client.send(new GetObjectCommand({ Bucket: store.bucket, Key: key }))).Body?.transformToString();
const localFiles = async (dir: string) => (await readdir(dir)).filter((name) => !name.startsWith(".")).sort();
const tempDir = () => mkdtemp(join(tmpdir(), "fitkit-defs-"));

beforeAll(async () => {
  const buckets = Array.from({ length: 8 }, (_, i) => `definitions-${i}`);
  s3 = await startEmbeddedS3({ directory: await tempDir(), buckets });
  client = createS3Client({ endpoint: s3.endpoint, region: s3.region, accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey });
});
beforeEach(() => {
  store = { client, bucket: `definitions-${bucketCount++}` };
});
afterAll(async () => {
  await s3?.close();
});

describe("downloadDefinitions", () => {
  it("brings the directory up to the bucket, downloading only what changed and removing what is gone", async () => {
    const dir = await tempDir();
    await put("main.cvd", "main-1");
    await put("daily.cld", "daily-1");
    await put("notes.txt", "not a database");

    expect(await downloadDefinitions(store, dir)).toEqual(["daily.cld", "main.cvd"]);
    expect(await localFiles(dir)).toEqual(["daily.cld", "main.cvd"]);
    expect(await downloadDefinitions(store, dir)).toEqual([]);

    await put("daily.cld", "daily-2");
    await client.send(new DeleteObjectCommand({ Bucket: store.bucket, Key: "main.cvd" }));
    expect(await downloadDefinitions(store, dir)).toEqual(["daily.cld", "main.cvd"]);
    expect({ files: await localFiles(dir), daily: await readFile(join(dir, "daily.cld"), "utf8") }).toEqual({ files: ["daily.cld"], daily: "daily-2" });
  });

  it("finds nothing in an empty bucket (the scanner then refuses to start)", async () => {
    expect(await downloadDefinitions(store, await tempDir())).toEqual([]);
  });
});

describe("uploadDefinitions", () => {
  it("publishes the files that changed since the fingerprint and deletes those removed", async () => {
    const dir = await tempDir();
    await writeFile(join(dir, "main.cvd"), "main-1");
    await writeFile(join(dir, "daily.cvd"), "daily-1");
    await writeFile(join(dir, "freshclam.dat"), "state-1");
    const before = await fingerprint(dir);

    await writeFile(join(dir, "daily.cld"), "daily-2");
    await rm(join(dir, "daily.cvd"));
    await writeFile(join(dir, "freshclam.dat"), "state-2");
    await writeFile(join(dir, "clamav-1234.tmp"), "freshclam's scratch");

    expect(await uploadDefinitions(store, dir, before)).toEqual({ uploaded: ["daily.cld", "freshclam.dat"], deleted: ["daily.cvd"] });
    expect(await listed()).toEqual(["daily.cld", "freshclam.dat"]);
    expect(await remote("daily.cld")).toBe("daily-2");
  });
});

describe("updateDefinitions (freshclam)", () => {
  it("fails without publishing when freshclam cannot reach its mirror", async () => {
    await put("main.cvd", "main-1");
    const closedPort = await freePort();
    const work = await tempDir();

    await expect(
      updateDefinitions({
        store,
        binary: "/usr/bin/freshclam",
        directory: join(work, "db"),
        workDirectory: work,
        mirror: `http://127.0.0.1:${closedPort}`,
        timeoutMs: 60_000,
      }),
    ).rejects.toThrow(/^freshclam failed \(exit code \d+\): ERROR: .+; nothing was published$/);
    expect(await listed()).toEqual(["main.cvd"]);
    expect(await remote("main.cvd")).toBe("main-1");
  });

  it("runs freshclam with a config it accepts, without test-loading new databases (about 1 GB for main.cvd)", async () => {
    const work = await tempDir();
    const error = await updateDefinitions({
      store,
      binary: "/usr/bin/freshclam",
      directory: join(work, "db"),
      workDirectory: work,
      mirror: `http://127.0.0.1:${await freePort()}`,
      timeoutMs: 60_000,
    }).then(
      () => new Error("freshclam succeeded against a closed port"),
      (e: unknown) => e as Error,
    );

    // freshclam read every line of the config (an unknown option stops it with "Parse error") and
    // failed only where it should: at the mirror.
    expect(error.message).not.toMatch(/Parse error|Unknown option|config file/);
    expect(error.message).toMatch(/^freshclam failed \(exit code \d+\): ERROR: .*(database|HTTP|server)/i);
    expect(freshclamConfig({ directory: "/d" }).split("\n")).toContain("TestDatabases no");
  });

  it("configures freshclam for its own directory and user, one attempt per run", () => {
    const lines = freshclamConfig({ directory: "/tmp/scanner/db" }).split("\n");
    expect(lines).toEqual(expect.arrayContaining(["DatabaseDirectory /tmp/scanner/db", "DatabaseMirror database.clamav.net", "MaxAttempts 1"]));
    expect(lines.some((line) => line.startsWith("DatabaseOwner "))).toBe(true);
    expect(freshclamConfig({ directory: "/d", mirror: "http://mirror.internal" }).split("\n")).toContain("PrivateMirror http://mirror.internal");
  });
});
