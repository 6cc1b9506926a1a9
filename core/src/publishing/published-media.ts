/**
 * The published-media port: which linked images of an organisation are published to the public
 * bucket, with their renditions (docs/ARCHITECTURE.md, "Publishing"). Every method is one atomic
 * step; the published bytes count towards the org's `used` exactly while the record exists.
 */
import type { OwnerType } from "../contract/catalog.js";
import type { ObjectRef } from "../quotas/linked-objects.js";

export interface Rendition {
  /** In the public bucket (`publicRenditionKey`). */
  key: string;
  width: number;
  height: number;
  contentType: "image/webp" | "image/avif";
  size: number;
}

/** One published upload: what the `publish` answer and the minisite are built from. */
export interface PublishedItem {
  /** The linked upload's key in the media bucket. */
  key: string;
  ownerType: OwnerType;
  /** Of the processed (oriented) image. */
  width: number;
  height: number;
  /** ThumbHash, base64 (the processed image's). */
  placeholder: string;
  /** Widest last within each type; WebP for every width, AVIF where it was smaller. */
  renditions: Rendition[];
  /** The rendition answered as `url` (a WebP). */
  defaultKey: string;
}

export const publishedBytesOf = (item: PublishedItem): number => item.renditions.reduce((sum, r) => sum + r.size, 0);

export interface PublishedMedia {
  /** The org's record for this upload key, or null when it is not published. */
  publishedItem(orgId: string, key: string): Promise<PublishedItem | null>;
  /** Every item the org has published, in key order. */
  publishedItems(orgId: string): Promise<PublishedItem[]>;
  /**
   * Records `item` for the linked upload `object` of `orgId` and adds its renditions' bytes to the
   * org's `used`, once. `linked: false` — the upload is not (or no longer) linked to the org (the
   * caller deletes what it wrote); `recorded: false` — it was already published: `item` is that record.
   */
  recordPublished(object: ObjectRef & { orgId: string }, item: PublishedItem): Promise<{ linked: boolean; recorded: boolean; item: PublishedItem | null }>;
  /** Removes the record and gives its bytes back, once however often called; null when there was none. */
  removePublished(orgId: string, key: string): Promise<PublishedItem | null>;
}
