/** What a stored object would serve to its readers beyond its bytes, checked against what the server signed. */
import type { StoredObjectInfo } from "../storage/object-store.js";

/**
 * `Cache-Control` directives a browser adds to the PUT by itself, and storage keeps: the Fetch
 * standard sends `no-cache` with any request that carries `If-None-Match` (which the presigned PUT
 * signs); Chromium sends `max-age=0`. They can only make caches keep less, and every signed GET
 * pins its own `Cache-Control` anyway; any other directive (`public`, a longer max-age) is refused.
 */
const BROWSER_CACHE_DIRECTIVES: ReadonlySet<string> = new Set(["no-cache", "no-store", "max-age=0"]);
const isBrowserCacheControl = (value: string): boolean => value.split(",").every((directive) => BROWSER_CACHE_DIRECTIVES.has(directive.trim().toLowerCase()));

/**
 * The headers (and `x-amz-meta-*` names) an object would serve to its readers that the server did
 * not set (`expectedMetadata` is what it wrote): a presigned PUT signs only SIGNED_PUT_HEADERS, so an uploader could add e.g.
 * `content-encoding: gzip` or a `content-disposition` and storage would keep and serve them.
 */
export function unsignedHeadersOf(info: StoredObjectInfo, expectedMetadata: Readonly<Record<string, string>>): string[] {
  const served = Object.entries(info.servedHeaders ?? {})
    .filter(([name, value]) => !(name === "cacheControl" && isBrowserCacheControl(value)))
    .map(([name]) => name);
  const metadata = Object.entries(info.metadata ?? {})
    .filter(([name, value]) => !(Object.hasOwn(expectedMetadata, name) && expectedMetadata[name] === value))
    .map(([name]) => `x-amz-meta-${name}`);
  return [...served, ...metadata];
}
