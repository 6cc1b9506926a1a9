/**
 * URL signers for this container: the FastUrlSigner (byte-identical to the SDK's presigner, a
 * fraction of its cost, and no S3 client in the bundle). `R2MediaWriter` signs the media PUTs
 * (presign); `R2Reader`, a read-only token, signs GETs (signed-urls); `signerForBucket` signs with
 * the write token of one bucket (the scanner's GET URLs, made by consume).
 */
import { FastUrlSigner } from "@fitkit/core/adapters/s3/fast-url-signer";
import type { UrlSigner } from "@fitkit/core/storage/url-signer";
import { lazy } from "../lazy.js";
import { readLinked, readWriterFor } from "../resources.js";

export const mediaWriterSigner = lazy(() => new FastUrlSigner(readLinked("R2MediaWriter", "R2")));
export const readerSigner = lazy(() => new FastUrlSigner(readLinked("R2Reader", "R2")));
/** Signs GETs of the media bucket only (`R2MediaReader`): for functions that never read records. */
export const mediaReaderSigner = lazy(() => new FastUrlSigner(readLinked("R2MediaReader", "R2")));

const byBucket = new Map<string, UrlSigner>();
export function signerForBucket(bucket: string): UrlSigner {
  let signer = byBucket.get(bucket);
  if (!signer) {
    signer = new FastUrlSigner(readWriterFor(bucket));
    byBucket.set(bucket, signer);
  }
  return signer;
}
