/**
 * The virus definitions between the definitions bucket (S3, written by the scheduled freshclam
 * run) and a local directory: `downloadDefinitions` brings the directory up to the bucket (only
 * what changed, by ETag), `uploadDefinitions` publishes what freshclam changed in it.
 */
import { createHash } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { DeleteObjectsCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";

export interface DefinitionsBucket {
  client: S3Client;
  bucket: string;
}

/**
 * ClamAV databases (the official .cvd/.cld, and custom signature files an operator may add: .ndb,
 * .hdb, .hsb, .ldb) and freshclam's state file (its mirror cool-down and client id).
 */
export const DEFINITION_FILE = /^[A-Za-z0-9_.-]+\.(cvd|cld|cud|dat|ndb|hdb|hsb|ldb)$/;
/** Our record of the ETag each local file was downloaded at. */
const MANIFEST = ".etags.json";

/** Brings `directory` up to the bucket; resolves the names that changed (empty: nothing to reload). */
export async function downloadDefinitions(store: DefinitionsBucket, directory: string): Promise<string[]> {
  await mkdir(directory, { recursive: true });
  const manifest: Record<string, string> = JSON.parse(await readFile(join(directory, MANIFEST), "utf8").catch(() => "{}"));
  const listed = await store.client.send(new ListObjectsV2Command({ Bucket: store.bucket }));
  const remote = (listed.Contents ?? []).filter((object) => object.Key && DEFINITION_FILE.test(object.Key));
  const changed: string[] = [];
  for (const object of remote) {
    const name = object.Key!;
    if (manifest[name] === object.ETag) continue;
    const out = await store.client.send(new GetObjectCommand({ Bucket: store.bucket, Key: name }));
    // Written aside and renamed: clamd never sees half a database.
    const partial = join(directory, `.${name}.partial`);
    await pipeline(out.Body as Readable, createWriteStream(partial));
    await rename(partial, join(directory, name));
    manifest[name] = out.ETag ?? object.ETag ?? "";
    changed.push(name);
  }
  const wanted = new Set(remote.map((object) => object.Key!));
  for (const name of Object.keys(manifest)) {
    if (wanted.has(name)) continue;
    await rm(join(directory, name), { force: true });
    delete manifest[name];
    changed.push(name);
  }
  await writeFile(join(directory, MANIFEST), JSON.stringify(manifest));
  return changed.sort();
}

/** SHA-256 of every definition file in `directory`, by name. */
export async function fingerprint(directory: string): Promise<Map<string, string>> {
  const names = (await readdir(directory).catch(() => [] as string[])).filter((name) => DEFINITION_FILE.test(name));
  const sums = new Map<string, string>();
  for (const name of names.sort()) {
    const hash = createHash("sha256");
    await pipeline(createReadStream(join(directory, name)), hash);
    sums.set(name, hash.digest("hex"));
  }
  return sums;
}

/** Publishes the files that differ from `before` and deletes the ones freshclam removed; resolves what it uploaded and deleted. */
export async function uploadDefinitions(
  store: DefinitionsBucket,
  directory: string,
  before: Map<string, string>,
): Promise<{ uploaded: string[]; deleted: string[] }> {
  const after = await fingerprint(directory);
  const uploaded = [...after].filter(([name, sum]) => before.get(name) !== sum).map(([name]) => name);
  const deleted = [...before.keys()].filter((name) => !after.has(name));
  for (const name of uploaded) {
    const path = join(directory, name);
    // Streamed: main.cvd alone is over 150 MB.
    await store.client.send(new PutObjectCommand({ Bucket: store.bucket, Key: name, Body: createReadStream(path), ContentLength: (await stat(path)).size }));
  }
  if (deleted.length > 0) {
    await store.client.send(new DeleteObjectsCommand({ Bucket: store.bucket, Delete: { Objects: deleted.map((Key) => ({ Key })) } }));
  }
  return { uploaded, deleted };
}
