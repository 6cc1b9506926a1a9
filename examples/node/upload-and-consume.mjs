// @ts-check
/**
 * The two halves of an upload, from outside the FitKit Uploads repository:
 *  1. the app's side — `@fitkit/uploads-client` presigns and PUTs the file straight to storage;
 *  2. the service's side — `@fitkit/uploads-sdk` links it to its parent (`consume`), exactly once.
 *
 * Against the local stack (`npm start` in the uploads repository):
 *   FITKIT_API=http://127.0.0.1:3000 \
 *   FITKIT_TOKEN=$(npm run --silent dev:token -- --user user_1 --org org_1) \
 *   INTERNAL_API_KEY=<printed by npm start> \
 *   node upload-and-consume.mjs photo.jpg user_1 org_1
 *
 * Prints one JSON line: the upload and what consume linked.
 */
import { readFile } from "node:fs/promises";
import { basename } from "node:path";
import { createUploader, isUploadClientError } from "@fitkit/uploads-client";
import { createUploadsClient, httpTransport, isUploadsApiError } from "@fitkit/uploads-sdk";

const [file, userId, orgId] = process.argv.slice(2);
const api = process.env.FITKIT_API ?? "http://127.0.0.1:3000";
if (!file || !userId || !orgId) throw new Error("usage: node upload-and-consume.mjs <file> <userId> <orgId>");

const uploader = createUploader({ apiBaseUrl: api, getToken: () => process.env.FITKIT_TOKEN });
const uploads = createUploadsClient({ transport: httpTransport({ baseUrl: api, internalKey: process.env.INTERNAL_API_KEY ?? "" }) });

try {
  const bytes = await readFile(file);
  const [uploaded] = await uploader.upload(
    { body: new Uint8Array(bytes), contentType: contentTypeOf(file), fileName: basename(file) },
    { ownerType: "progress_photo" },
  );
  if (!uploaded) throw new Error("nothing was uploaded");
  const linked = await uploads.consume({ uploadIds: [uploaded.uploadId], ownerType: "progress_photo", owner: { orgId, userId } });
  console.log(JSON.stringify({ uploaded, consumed: linked.uploads, idempotencyKey: linked.idempotencyKey }));
} catch (error) {
  if (isUploadClientError(error) || isUploadsApiError(error)) {
    console.error(`${error.name} ${error.code} (${error.status}): ${error.message}`);
    process.exit(1);
  }
  throw error;
}

/** @param {string} name */
function contentTypeOf(name) {
  const extension = name.toLowerCase().split(".").pop();
  /** @type {Record<string, string>} */
  const types = { jpg: "image/jpeg", jpeg: "image/jpeg", png: "image/png", webp: "image/webp", heic: "image/heic" };
  return types[extension ?? ""] ?? "application/octet-stream";
}
