// Child process for local/embedded-s3.ts: runs @20minutes/s3rver (patched, see patches/).
// Plain .mjs on purpose: it is forked without any TypeScript loader, under tsx and vitest alike.
// Started with --openssl-legacy-provider (ListObjectsV2 continuation tokens use DES).
//
// argv[2] is JSON: { host, port, directory, buckets: [{ name, corsXml? }] }.
// Reports { type: "ready", port } or { type: "error", message } over IPC.
import S3rver from "@20minutes/s3rver";

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
  const address = await server.run();
  ready = true;
  process.send?.({ type: "ready", port: address.port });
} catch (error) {
  fail(error);
}
