/**
 * URL signers for this container: the FastUrlSigner (byte-identical to the SDK's presigner, a
 * fraction of its cost, and no S3 client in the bundle). `R2Writer` signs PUTs (presign);
 * `R2Reader`, a read-only token, signs GETs (signed-get).
 */
import { FastUrlSigner } from "@fitkit/core/adapters/s3/fast-url-signer";
import { lazy } from "../lazy.js";
import { readLinked } from "../resources.js";

export const writerSigner = lazy(() => new FastUrlSigner(readLinked("R2Writer", "R2")));
export const readerSigner = lazy(() => new FastUrlSigner(readLinked("R2Reader", "R2")));
