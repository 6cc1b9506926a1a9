/**
 * The reads, copy and delete of the ObjectStore port (what consume calls: HeadObject, a ranged
 * GetObject, CopyObject, DeleteObjects) over the lean signed HTTP client (`../aws/aws-http.ts`)
 * instead of the SDK's S3 client, whose middleware stack is most of consume's cold start.
 *
 * Each call answers what `S3ObjectStore` answers for the same storage reply (the object store
 * contract runs against both on the SigV4-checking S3 server), sends what the SDK sends (a test
 * compares the requests), and waits as long: `S3_MAX_ATTEMPTS` attempts, each bounded by
 * `timeoutMs` while connecting and in every silence after.
 *
 * One client per bucket, each signing with that bucket's own token (`settingsFor`), built on first
 * use; a copy is signed with the destination's token, which also reads the source.
 */
import { crc32 } from "node:zlib";
import { DEFAULT_DEPENDENCY_TIMEOUT_MS } from "../../config.js";
import { DependencyUnavailableError } from "../../errors.js";
import { type DeleteOutcome, MAX_KEYS_PER_DELETE, type ObjectStore, type StoredObjectInfo } from "../../storage/object-store.js";
import type { S3ConnectionSettings } from "../../storage/url-signer.js";
import { AwsHttpClient, type AwsResponse, AwsServiceError, errorCodeOf } from "../aws/aws-http.js";
import { escapeUriPath } from "../aws/sigv4.js";
import { parseEndpoint } from "./fast-url-signer.js";
import { S3_MAX_ATTEMPTS } from "./s3-retries.js";

/** What this store serves of the port: the calls consume makes. */
export type ObjectReadCopyDelete = Pick<ObjectStore, "head" | "readFirstBytes" | "stream" | "copy" | "deleteObjects">;

export interface S3HttpObjectStoreOptions {
  /** Endpoint, region and the token that may use `bucket`. */
  settingsFor: (bucket: string) => S3ConnectionSettings;
  /** Bounds every wait of one attempt (connecting, the headers, any gap in a body), as the SDK client's timeouts do. */
  timeoutMs?: number;
}

/** The served headers HEAD answers, by the port's name. */
const SERVED_HEADERS = [
  ["cacheControl", "cache-control"],
  ["contentDisposition", "content-disposition"],
  ["contentEncoding", "content-encoding"],
  ["contentLanguage", "content-language"],
  ["expires", "expires"],
] as const;

export class S3HttpObjectStore implements ObjectReadCopyDelete {
  readonly #options: S3HttpObjectStoreOptions;
  readonly #clients = new Map<string, { client: AwsHttpClient; pathPrefix: string }>();

  constructor(options: S3HttpObjectStoreOptions) {
    this.#options = options;
  }

  #for(bucket: string): { client: AwsHttpClient; pathPrefix: string } {
    let entry = this.#clients.get(bucket);
    if (!entry) {
      const settings = this.#options.settingsFor(bucket);
      const endpoint = parseEndpoint(settings.endpoint);
      const timeoutMs = this.#options.timeoutMs ?? DEFAULT_DEPENDENCY_TIMEOUT_MS;
      const client = new AwsHttpClient({
        endpoint: `${endpoint.protocol}//${endpoint.host}`,
        credentials: { accessKeyId: settings.accessKeyId, secretAccessKey: settings.secretAccessKey },
        region: settings.region,
        service: "s3",
        maxAttempts: S3_MAX_ATTEMPTS,
        connectionTimeoutMs: timeoutMs,
        idleTimeoutMs: timeoutMs,
      });
      entry = { client, pathPrefix: endpoint.pathPrefix };
      this.#clients.set(bucket, entry);
    }
    return entry;
  }

  /**
   * Path-style, as the SDK client is configured (`forcePathStyle`): `/<bucket>/<key>`. A bucket this
   * function holds no token for throws the settings' ConfigError (as PerBucketObjectStore does); a
   * request that gets no answer is DependencyUnavailableError.
   */
  #send(bucket: string, key: string, request: Omit<Parameters<AwsHttpClient["send"]>[0], "path">): Promise<AwsResponse> {
    const { client, pathPrefix } = this.#for(bucket);
    return storage(() => client.send({ ...request, path: `${pathPrefix}/${bucket}/${escapeUriPath(key)}` }));
  }

  async head(bucket: string, key: string): Promise<StoredObjectInfo | null> {
    const response = await this.#send(bucket, key, { method: "HEAD", headers: { "x-amz-checksum-mode": "ENABLED" } });
    response.discard();
    if (response.status === 404) return null;
    if (response.status !== 200) throw unavailable(response, "");
    const header = (name: string): string | undefined => {
      const value = response.headers[name];
      return typeof value === "string" && value !== "" ? value : undefined;
    };
    const served = Object.fromEntries(SERVED_HEADERS.flatMap(([field, name]) => (header(name) ? [[field, header(name)]] : [])));
    const metadata = Object.fromEntries(
      Object.entries(response.headers).flatMap(([name, value]) =>
        name.startsWith("x-amz-meta-") && typeof value === "string" ? [[name.slice(11), value]] : [],
      ),
    );
    const checksum = header("x-amz-checksum-sha256");
    return {
      size: Number(header("content-length") ?? 0),
      contentType: header("content-type") ?? null,
      etag: header("etag") ?? "",
      ...(checksum ? { checksumSha256: checksum } : {}),
      ...(Object.keys(served).length > 0 ? { servedHeaders: served } : {}),
      ...(Object.keys(metadata).length > 0 ? { metadata } : {}),
    };
  }

  async readFirstBytes(bucket: string, key: string, length: number): Promise<Uint8Array | null> {
    const response = await this.#getRange(bucket, key, length);
    // An object too short for the range (an empty one) still answers with what it has.
    if (response.status === 416) {
      response.discard();
      return new Uint8Array();
    }
    if (response.status === 404) {
      response.discard();
      return null;
    }
    if (response.status !== 200 && response.status !== 206) throw unavailable(response, await storage(() => response.text()));
    return storage(() => response.bytes());
  }

  async stream(bucket: string, key: string, maxBytes: number): Promise<AsyncIterable<Uint8Array> | null> {
    const response = await this.#getRange(bucket, key, maxBytes);
    if (response.status === 404) {
      response.discard();
      return null;
    }
    if (response.status !== 200 && response.status !== 206) throw unavailable(response, await storage(() => response.text()));
    return guardStream(response.body);
  }

  #getRange(bucket: string, key: string, length: number): Promise<AwsResponse> {
    return this.#send(bucket, key, { method: "GET", query: { "x-id": "GetObject" }, headers: { range: `bytes=0-${length - 1}` } });
  }

  async copy(bucket: string, fromKey: string, toKey: string, toBucket: string = bucket): Promise<{ etag: string } | null> {
    const response = await this.#send(toBucket, toKey, {
      method: "PUT",
      query: { "x-id": "CopyObject" },
      errorIn2xx: "error-document-or-empty",
      headers: {
        "x-amz-copy-source": `${bucket}/${encodeURIComponent(fromKey).replaceAll("%2F", "/")}`,
        "x-amz-metadata-directive": "COPY",
      },
    });
    const body = await storage(() => response.text());
    if (response.status === 200) return { etag: xmlText(/<ETag>([^<]*)<\/ETag>/.exec(body)?.[1] ?? "") };
    // Only a missing source is "not there"; a missing bucket (also a 404) is a broken dependency.
    if (errorCodeOf(response, body) === "NoSuchKey") return null;
    throw unavailable(response, body);
  }

  /** One DeleteObjects request per 1000 keys, one after another (a failing request stops the rest: retrying is safe). */
  async deleteObjects(bucket: string, keys: string[]): Promise<DeleteOutcome> {
    const outcome: DeleteOutcome = { deleted: [], failed: [] };
    for (let start = 0; start < keys.length; start += MAX_KEYS_PER_DELETE) {
      const batch = await this.#deleteBatch(bucket, keys.slice(start, start + MAX_KEYS_PER_DELETE));
      outcome.deleted.push(...batch.deleted);
      outcome.failed.push(...batch.failed);
    }
    return outcome;
  }

  async #deleteBatch(bucket: string, keys: string[]): Promise<DeleteOutcome> {
    const body = deleteObjectsXml(keys);
    const { client, pathPrefix } = this.#for(bucket);
    const response = await storage(() =>
      client.send({
        method: "POST",
        path: `${pathPrefix}/${bucket}/`,
        query: { delete: "" },
        // DeleteObjects requires a checksum: the SDK's, CRC32, even with WHEN_REQUIRED.
        headers: { "content-type": "application/xml", "x-amz-sdk-checksum-algorithm": "CRC32", "x-amz-checksum-crc32": crc32Base64(body) },
        body,
        errorIn2xx: "error-document",
      }),
    );
    const text = await storage(() => response.text());
    if (response.status !== 200) throw unavailable(response, text);
    // Only what storage confirmed counts as deleted: the sweeper finalises nothing else.
    const confirmed = new Set([...text.matchAll(/<Deleted>([\s\S]*?)<\/Deleted>/g)].map((m) => xmlField(m[1]!, "Key")));
    const errors = new Map([...text.matchAll(/<Error>([\s\S]*?)<\/Error>/g)].map((m) => [xmlField(m[1]!, "Key"), xmlField(m[1]!, "Code") || "Unknown"]));
    return {
      deleted: keys.filter((k) => confirmed.has(k)),
      failed: keys.filter((k) => !confirmed.has(k)).map((key) => ({ key, code: errors.get(key) ?? "Unconfirmed" })),
    };
  }
}

/** The DeleteObjects body, byte for byte what the SDK's XML serializer writes. */
export function deleteObjectsXml(keys: string[]): string {
  const objects = keys.map((key) => `<Object><Key>${xmlEscape(key)}</Key></Object>`).join("");
  return `<?xml version="1.0" encoding="UTF-8"?><Delete xmlns="http://s3.amazonaws.com/doc/2006-03-01/">${objects}<Quiet>false</Quiet></Delete>`;
}

/** The SDK's element escaping (@aws-sdk/xml-builder escapeElement). */
const XML_ESCAPES: Record<string, string> = {
  "&": "&amp;",
  '"': "&quot;",
  "'": "&apos;",
  "<": "&lt;",
  ">": "&gt;",
  "\r": "&#x0D;",
  "\n": "&#x0A;",
  "\u0085": "&#x85;",
  "\u2028": "&#x2028;",
};
const xmlEscape = (value: string): string => value.replace(/[&"'<>\r\n\u0085\u2028]/g, (c) => XML_ESCAPES[c]!);

const ENTITIES: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" };

/** Text of an XML element: entities and character references decoded. */
function xmlText(raw: string): string {
  return raw.replace(/&(?:#x([0-9a-fA-F]+)|#([0-9]+)|(amp|lt|gt|quot|apos));/g, (_, hex: string, dec: string, name: string) =>
    hex ? String.fromCodePoint(Number.parseInt(hex, 16)) : dec ? String.fromCodePoint(Number(dec)) : ENTITIES[name]!,
  );
}

function xmlField(element: string, name: string): string {
  return xmlText(new RegExp(`<${name}>([^<]*)</${name}>`).exec(element)?.[1] ?? "");
}

function crc32Base64(body: string): string {
  const checksum = Buffer.alloc(4);
  checksum.writeUInt32BE(crc32(body));
  return checksum.toString("base64");
}

/** A request or body read that got no answer (timeouts, network errors) is DependencyUnavailableError("storage"). */
async function storage<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw new DependencyUnavailableError("storage", { cause: error });
  }
}

function unavailable(response: AwsResponse, body: string): DependencyUnavailableError {
  return new DependencyUnavailableError("storage", { cause: new AwsServiceError(errorCodeOf(response, body), response.status) });
}

/** A storage failure while reading a body is a dependency failure too. */
async function* guardStream(body: AsyncIterable<Uint8Array>): AsyncIterable<Uint8Array> {
  try {
    for await (const chunk of body) yield chunk;
  } catch (error) {
    throw new DependencyUnavailableError("storage", { cause: error });
  }
}
