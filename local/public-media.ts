/**
 * The local stack's stand-in for the public bucket's custom domain: `GET /public-media/<key>`
 * serves an object of the public bucket to anyone, with the type and `Cache-Control` stored with
 * it, as R2 serves a public bucket. Only that bucket and only its rendition prefix are reachable.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { PUBLIC_PREFIX } from "@fitkit/core/policies/object-keys";
import type { PublicBucket } from "@fitkit/core/publishing/publish";
import type { ObjectStore } from "@fitkit/core/storage/object-store";

/** The route's path prefix: the default `PUBLIC_BASE_URL` is the stack's origin plus this. */
export const PUBLIC_MEDIA_PATH = "/public-media/";

/** Renditions are a few hundred KiB; the bound only stops a stray large object from being buffered whole. */
const MAX_SERVED_BYTES = 32 * 1024 * 1024;

export function createPublicMediaRoute(bucket: Omit<PublicBucket, "objects"> & { objects: Pick<ObjectStore, "head" | "stream"> }) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<boolean> => {
    const url = new URL(req.url ?? "/", "http://localhost");
    if (!url.pathname.startsWith(PUBLIC_MEDIA_PATH)) return false;
    // Rendition keys are plain ASCII: a %-escape never names one.
    const key = url.pathname.slice(PUBLIC_MEDIA_PATH.length);
    const notFound = () => {
      res.writeHead(404, { "content-type": "text/plain; charset=utf-8" });
      res.end("Not found");
      return true;
    };
    if ((req.method !== "GET" && req.method !== "HEAD") || !key.startsWith(PUBLIC_PREFIX) || key.split("/").includes("..")) return notFound();
    const info = await bucket.objects.head(bucket.name, key);
    const stream = info && req.method === "GET" ? await bucket.objects.stream(bucket.name, key, MAX_SERVED_BYTES) : null;
    if (!info || (req.method === "GET" && !stream)) return notFound();
    res.writeHead(200, {
      "content-type": info.contentType ?? "application/octet-stream",
      "content-length": String(info.size),
      etag: info.etag,
      ...(info.servedHeaders?.cacheControl ? { "cache-control": info.servedHeaders.cacheControl } : {}),
      // As the deployed bucket's CORS rule: anyone may read.
      "access-control-allow-origin": "*",
    });
    if (!stream) {
      res.end();
      return true;
    }
    for await (const chunk of stream) res.write(chunk);
    res.end();
    return true;
  };
}
