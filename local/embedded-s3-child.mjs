// Child process for local/embedded-s3.ts: runs @20minutes/s3rver (patched, see patches/).
// Plain .mjs on purpose: it is forked without any TypeScript loader, under tsx and vitest alike.
// Started with --openssl-legacy-provider (ListObjectsV2 continuation tokens use DES).
//
// argv[2] is JSON: { host, port, directory, buckets: [{ name, corsXml? }], retentionLocks?: [{ bucket, prefix }] }.
// Reports { type: "ready", port } or { type: "error", message } over IPC.
import { createRequire } from "node:module";
import S3rver from "@20minutes/s3rver";

const S3Error = createRequire(import.meta.url)("@20minutes/s3rver/lib/models/error.js");

const config = JSON.parse(process.argv[2] ?? "{}");

// The parent went away (exited, crashed or was killed): do not outlive it. The IPC channel closes
// when the parent dies, even by SIGKILL; the parent pid check is the backstop should it not.
process.on("disconnect", () => process.exit(0));
const parentPid = process.ppid;
setInterval(() => {
  if (process.ppid !== parentPid) process.exit(0);
}, 500).unref();
process.on("SIGTERM", () => process.exit(0));
// Ctrl-C reaches the whole process group: give the parent a moment to close us in order (so it
// does not see a crash), but never outlive the signal for long.
process.on("SIGINT", () => setTimeout(() => process.exit(0), 1_000));

// Report start-up failures to the parent instead of printing a stack (s3rver's listen() does not
// turn EADDRINUSE into a rejection: it surfaces as an uncaught 'error' event).
let ready = false;
function fail(error) {
  const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
  if (ready || !process.send) {
    console.error(`embedded S3 crashed: ${message}`);
    process.exit(1);
  }
  process.send({ type: "error", message }, () => process.exit(1));
}
process.on("uncaughtException", fail);

try {
  const server = new S3rver({
    address: config.host,
    port: config.port,
    directory: config.directory,
    silent: true, // no request logging
    vhostBuckets: false, // path-style only; the host is an IP anyway
    allowMismatchedSignatures: false,
    configureBuckets: config.buckets.map((bucket) => ({
      name: bucket.name,
      configs: bucket.corsXml ? [Buffer.from(bucket.corsXml)] : [],
    })),
  });
  lockRetainedKeys(server.store, config.retentionLocks ?? []);
  const address = await server.run();
  ready = true;
  process.send?.({ type: "ready", port: address.port });
} catch (error) {
  fail(error);
}

/**
 * R2's bucket lock, emulated: an object under a locked prefix cannot be overwritten (PUT, copy
 * onto it, multipart complete, form POST) or deleted; the first write of a new key is allowed.
 * Every write path of s3rver ends in one of the store methods wrapped here. R2 answers such a
 * write with an error; here it is 403 AccessDenied (a DeleteObjects naming a locked key fails whole).
 */
function lockRetainedKeys(store, locks) {
  if (locks.length === 0) return;
  const isLocked = (bucket, key) => locks.some((lock) => lock.bucket === bucket && key.startsWith(lock.prefix));
  const refuse = (key) => {
    throw new S3Error("AccessDenied", "The object is locked by the bucket's retention policy.", { Key: key });
  };
  const refuseExisting = async (bucket, key) => {
    if (isLocked(bucket, key) && (await store.existsObject(bucket, key))) refuse(key);
  };

  const putObject = store.putObject.bind(store);
  // Checked again just before the commit (serialised per key by the patch), so concurrent first writes cannot both land.
  store.putObject = async (object, beforeCommit) => {
    await refuseExisting(object.bucket, object.key);
    return putObject(object, async () => {
      await refuseExisting(object.bucket, object.key);
      if (beforeCommit) await beforeCommit();
    });
  };
  const copyObject = store.copyObject.bind(store);
  store.copyObject = async (srcBucket, srcKey, destBucket, destKey, replacementMetadata) => {
    await refuseExisting(destBucket, destKey);
    return copyObject(srcBucket, srcKey, destBucket, destKey, replacementMetadata);
  };
  const deleteObject = store.deleteObject.bind(store);
  store.deleteObject = async (bucket, key) => {
    if (isLocked(bucket, key)) refuse(key);
    return deleteObject(bucket, key);
  };
}
