/**
 * The cache in front of the public bucket's domain (Cloudflare's, for a custom domain). Published
 * renditions are served with a year's `max-age`, so deleting them from storage is not enough to
 * take them down: the edge keeps serving its copies until they are purged.
 */
export interface EdgeCache {
  /**
   * Removes the edge's cached copies of `urls` (full public URLs). Resolves once the CDN confirmed
   * the purge; throws DependencyUnavailableError("cdn") when it did not, or did not answer in time.
   */
  purge(urls: readonly string[]): Promise<void>;
}

/**
 * No edge cache in front: the origin answers every request itself (the local stack's
 * `/public-media/`, R2's `r2.dev` development domain), so a deleted object is gone at once and
 * there is nothing to purge.
 */
export const NO_EDGE_CACHE: EdgeCache = { purge: async () => undefined };
