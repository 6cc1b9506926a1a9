/**
 * URL signers for this container. Signing is pure CPU work: these never load the S3 client.
 * `R2Writer` signs PUTs (presign); `R2Reader`, a read-only token, signs GETs (signed-get).
 */
import { SdkUrlSigner } from "@fitkit/core/adapters/s3/sdk-url-signer";
import { lazy } from "../lazy.js";
import { readLinked } from "../resources.js";

export const writerSigner = lazy(() => new SdkUrlSigner(readLinked("R2Writer", "R2")));
export const readerSigner = lazy(() => new SdkUrlSigner(readLinked("R2Reader", "R2")));
