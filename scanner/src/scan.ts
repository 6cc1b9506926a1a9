/**
 * One scan request → one reply (protocol: `@fitkit/core/adapters/lambda/scanner-protocol`).
 * The bytes come from a presigned GET URL on an allowed storage host (read with a Range of at most
 * `maxBytes`) or inline, and are streamed to clamd's INSTREAM by core's ClamdScanner — never
 * buffered whole. Every failure to get a verdict is an `error` reply with our own reason text
 * (never file content, never the URL with its signature): the caller fails closed on it.
 *
 * Stale definitions are not trusted to call anything clean: a clean result from definitions built
 * longer ago than `definitions.maxAgeSeconds` (or whose build time clamd cannot tell) is an error
 * reply with `cause: "stale-definitions"`. A detection stands however old the definitions are.
 */

import { type ScanReply, scanRequestSchema } from "@fitkit/core/adapters/lambda/scanner-protocol";
import { DependencyUnavailableError } from "@fitkit/core/errors";
import type { Scanner } from "@fitkit/core/scanning/scanner";

export interface ScanDeps {
  /** The clamd scanner of this container (started on first use). */
  scanner: () => Promise<Scanner>;
  /** URLs must be https on a host ending with this (R2: ".r2.cloudflarestorage.com"). */
  sourceHostSuffix: string;
  /** Tests only: also accept http (the embedded S3 server on 127.0.0.1). */
  allowHttp?: boolean;
  /** How fresh the loaded definitions must be for a clean verdict. */
  definitions: {
    /** When the definitions clamd has loaded were built; null when it cannot tell. */
    builtAt: () => Promise<Date | null>;
    maxAgeSeconds: number;
  };
}

/** A failure whose message is ours (safe to return): no file content, no signed URL. */
class ScanFailure extends Error {}
/** A clean result the definitions are too old (or too unknown) to vouch for. */
class StaleDefinitionsFailure extends ScanFailure {}

export async function handleScanRequest(deps: ScanDeps, event: unknown): Promise<ScanReply> {
  const parsed = scanRequestSchema.safeParse(event);
  if (!parsed.success) return { verdict: "error", reason: "the request is neither { url, maxBytes } nor { bytesBase64 }" };
  const request = parsed.data;
  try {
    // clamd first: a cold start takes long enough for an opened download to go idle.
    const scanner = await deps.scanner().catch((error: unknown) => {
      throw new ScanFailure(`clamd is not available: ${error instanceof Error ? error.message : String(error)}`);
    });
    const source = "url" in request ? await openUrl(deps, request.url, request.maxBytes) : once(Buffer.from(request.bytesBase64, "base64"));
    const verdict = await scanner.scan(source);
    if (!verdict.clean) return { verdict: "infected", signature: verdict.signature };
    await assertFresh(deps);
    return { verdict: "clean" };
  } catch (error) {
    if (error instanceof StaleDefinitionsFailure) return { verdict: "error", reason: error.message, cause: "stale-definitions" };
    return { verdict: "error", reason: reasonOf(error) };
  }
}

async function assertFresh(deps: ScanDeps): Promise<void> {
  const builtAt = await deps.definitions.builtAt().catch((error: unknown) => {
    throw new ScanFailure(`could not read the definitions' build time from clamd: ${error instanceof Error ? error.message : String(error)}`);
  });
  if (!builtAt) throw new StaleDefinitionsFailure("the loaded definitions have no build time (no daily database): a clean verdict is refused");
  const ageSeconds = Math.floor((Date.now() - builtAt.getTime()) / 1000);
  if (ageSeconds > deps.definitions.maxAgeSeconds) {
    throw new StaleDefinitionsFailure(
      `the virus definitions are stale (built ${builtAt.toISOString()}, ${Math.floor(ageSeconds / 3600)} h ago; at most ${deps.definitions.maxAgeSeconds / 3600} h): a clean verdict is refused`,
    );
  }
}

async function openUrl(deps: ScanDeps, raw: string, maxBytes: number): Promise<AsyncIterable<Uint8Array>> {
  const url = new URL(raw);
  const schemeAllowed = url.protocol === "https:" || (deps.allowHttp === true && url.protocol === "http:");
  if (!schemeAllowed || !url.hostname.endsWith(deps.sourceHostSuffix)) {
    throw new ScanFailure(`the URL's host is not an allowed storage host (*${deps.sourceHostSuffix}, https)`);
  }
  const response = await fetch(url, { headers: { range: `bytes=0-${maxBytes - 1}` }, redirect: "error" }).catch((error: unknown) => {
    throw new ScanFailure(`could not read the object: ${error instanceof Error ? error.name : "fetch failed"}`);
  });
  if (response.status !== 200 && response.status !== 206) {
    await response.body?.cancel();
    throw new ScanFailure(`could not read the object: storage answered HTTP ${response.status}`);
  }
  if (!response.body) return once(new Uint8Array(0));
  return response.body as unknown as AsyncIterable<Uint8Array>;
}

function reasonOf(error: unknown): string {
  if (error instanceof ScanFailure) return error.message;
  if (error instanceof DependencyUnavailableError && error.cause instanceof Error) return error.cause.message;
  return `the scan failed: ${error instanceof Error ? error.name : typeof error}`;
}

async function* once(bytes: Uint8Array): AsyncIterable<Uint8Array> {
  if (bytes.length > 0) yield bytes;
}
