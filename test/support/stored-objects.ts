/**
 * Reads what the local stack's embedded S3 server holds, straight from storage (not through
 * `signed-urls`): the uploaded bytes of a video are never signed for download (docs/API.md,
 * "Video variants"), so a test that checks an upload arrived intact reads the stored object here.
 */
import { createHash } from "node:crypto";
import { createS3Client } from "@fitkit/core/adapters/s3/s3-client";
import { S3ObjectStore } from "@fitkit/core/adapters/s3/s3-object-store";
import type { LocalStack } from "../../support/local-stack.js";

/** s3rver's only account, hard-coded in s3rver (local/embedded-s3.ts): the stack's embedded server takes it. */
const EMBEDDED_S3_CREDENTIALS = { region: "auto", accessKeyId: "S3RVER", secretAccessKey: "S3RVER" };

/** Stored objects are read up to this many bytes: more than any upload a test sends. */
const MAX_BYTES = 1024 * 1024 * 1024;

/** Streams the object (in `bucket`) to `each`, chunk by chunk; false when storage holds no such object. */
async function readEach(stack: LocalStack, bucket: string, key: string, each: (chunk: Uint8Array) => void): Promise<boolean> {
  const client = createS3Client({ endpoint: stack.s3, ...EMBEDDED_S3_CREDENTIALS });
  try {
    const body = await new S3ObjectStore(client).stream(bucket, key, MAX_BYTES);
    if (!body) return false;
    for await (const chunk of body) each(chunk);
    return true;
  } finally {
    client.destroy();
  }
}

/** The object's bytes as storage holds them (in `bucket`, the media bucket unless told); null when there is none. */
export async function readStoredObject(stack: LocalStack, key: string, bucket = stack.buckets.media): Promise<Uint8Array | null> {
  const chunks: Uint8Array[] = [];
  return (await readEach(stack, bucket, key, (chunk) => chunks.push(chunk))) ? new Uint8Array(Buffer.concat(chunks)) : null;
}

/** The SHA-256 (hex) of the object as storage holds it (in `bucket`, the media bucket unless told); null when there is none. */
export async function storedObjectSha256(stack: LocalStack, key: string, bucket = stack.buckets.media): Promise<string | null> {
  const hash = createHash("sha256");
  return (await readEach(stack, bucket, key, (chunk) => hash.update(chunk))) ? hash.digest("hex") : null;
}
