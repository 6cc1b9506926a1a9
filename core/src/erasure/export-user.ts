/**
 * Export — a member asks for a copy of their data (GDPR art. 20): a manifest of every upload of
 * theirs still linked in the org, page by page, each with its facts and a signed URL of the best
 * copy this service serves of it — through `signedUrls`, so an image is only ever its processed
 * (metadata-free, oriented) copy, never the bytes the phone wrote (docs/API.md, "export-user").
 */
import * as z from "zod";
import { MAX_PRESIGN_EXPIRES_SECONDS, MEDIA_VARIANTS, type MediaVariant, OWNER_TYPE_POLICIES, OWNER_TYPES, type OwnerType } from "../contract/catalog.js";
import { InvalidRequestError } from "../errors.js";
import { isProcessableVideo } from "../media/media-variants.js";
import { parseObjectKey } from "../policies/object-keys.js";
import { safeId } from "../policies/request-fields.js";
import type { LinkedObjects } from "../quotas/linked-objects.js";
import { type SignedUrl, type SignedUrlsDeps, signedUrls } from "../signed-urls/signed-urls.js";
import type { ListedObject, ObjectStore } from "../storage/object-store.js";

export const exportUserRequestSchema = z.object({
  orgId: safeId,
  userId: safeId,
  /** The `cursor` of the previous page; absent: the first page. */
  cursor: z.string().min(1).max(4096).optional(),
  pageSize: z.number().int().min(1).max(100).default(100),
  /** Lifetime of the signed URLs, as in `POST /uploads/signed-urls`. */
  expiresIn: z.number().int().min(60).max(MAX_PRESIGN_EXPIRES_SECONDS).default(3600),
});
export type ExportUserRequest = z.output<typeof exportUserRequestSchema>;

export const exportedUploadSchema = z.object({
  key: z.string(),
  ownerType: z.string(),
  contentType: z.string(),
  /** Bytes of the upload as linked. */
  size: z.number().int().min(0),
  /** When storage wrote it. */
  createdAt: z.iso.datetime(),
  /** `ready` with `url`; `processing` (no processed copy yet: ask again later); `failed` with `code` (no copy can be made). */
  status: z.enum(["ready", "processing", "failed"]),
  url: z.url().optional(),
  expiresAt: z.iso.datetime().optional(),
  /** Which copy `url` is: an image's processed `original`, a video's playback copy when it has one, else the video as served. */
  copy: z.string().optional(),
  width: z.number().int().min(1).optional(),
  height: z.number().int().min(1).optional(),
  durationMs: z.number().int().min(0).optional(),
  code: z.string().optional(),
});
export type ExportedUpload = z.output<typeof exportedUploadSchema>;

/** The reply of `export-user`; documented, never parsed at run time. */
export const exportUserResponseSchema = z.object({
  uploads: z.array(exportedUploadSchema),
  /** Pass it back for the next page; null: this was the last. */
  cursor: z.string().nullable(),
});
export type ExportUserResponse = z.output<typeof exportUserResponseSchema>;

export interface ExportUserDeps {
  objects: Pick<ObjectStore, "list">;
  links: Pick<LinkedObjects, "linkedObjects">;
  /** What `POST /uploads/signed-urls` signs with: the same pins, the same processed copies. */
  signing: SignedUrlsDeps;
}

const MEDIA_OWNER_TYPES = OWNER_TYPES.filter((type) => OWNER_TYPE_POLICIES[type].bucket === "media");

/** A video's best copy: a playback rendition when the catalog has one, else the video as signed-urls serves it. */
const VIDEO_COPY: MediaVariant = (MEDIA_VARIANTS as readonly string[]).includes("playback") ? ("playback" as MediaVariant) : "original";

const cursorSchema = z.object({
  t: z
    .number()
    .int()
    .min(0)
    .max(MEDIA_OWNER_TYPES.length - 1),
  a: z.string().nullable(),
});

function decodeCursor(cursor: string | undefined): { type: number; after: string | null } {
  if (cursor === undefined) return { type: 0, after: null };
  try {
    const parsed = cursorSchema.safeParse(JSON.parse(Buffer.from(cursor, "base64url").toString("utf8")));
    if (parsed.success) return { type: parsed.data.t, after: parsed.data.a };
  } catch {
    // answered below
  }
  throw new InvalidRequestError("The cursor is not one export-user answered.", [{ path: "cursor", message: "not an export cursor" }]);
}

const encodeCursor = (type: number, after: string | null): string => Buffer.from(JSON.stringify({ t: type, a: after })).toString("base64url");

/**
 * Invariants: only uploads linked to the org, under the member's own keys, are listed; a URL is
 * one `signedUrls` would give an admin of the org for that copy — never an image's uploaded bytes.
 * Pages follow key order per owner type, so a cursor resumes exactly after the last key answered.
 */
export async function exportUser(deps: ExportUserDeps, request: ExportUserRequest): Promise<ExportUserResponse> {
  let { type, after } = decodeCursor(request.cursor);
  const listed: { object: ListedObject; ownerType: OwnerType }[] = [];
  while (type < MEDIA_OWNER_TYPES.length && listed.length < request.pageSize) {
    const ownerType = MEDIA_OWNER_TYPES[type]!;
    const page: ListedObject[] = [];
    const prefix = `${request.orgId}/${ownerType}/${request.userId}/`;
    for await (const objects of deps.objects.list(deps.signing.buckets.media, prefix, after === null ? {} : { startAfter: after })) {
      page.push(...objects.slice(0, request.pageSize - listed.length - page.length));
      if (listed.length + page.length >= request.pageSize) break;
    }
    listed.push(...page.map((object) => ({ object, ownerType })));
    if (listed.length < request.pageSize) {
      type += 1;
      after = null;
    } else after = page.at(-1)?.key ?? after;
  }
  const cursor = type < MEDIA_OWNER_TYPES.length ? encodeCursor(type, after) : null;

  const mine = listed.filter(({ object }) => {
    const parsed = parseObjectKey(object.key);
    return parsed?.bucket === "media" && parsed.orgId === request.orgId && parsed.userId === request.userId;
  });
  if (mine.length === 0) return { uploads: [], cursor };
  const links = await deps.links.linkedObjects(mine.map(({ object }) => ({ bucket: deps.signing.buckets.media, key: object.key })));
  const linked = mine.flatMap((entry, i) => (links[i]?.orgId === request.orgId ? [{ ...entry, size: links[i]!.size }] : []));
  if (linked.length === 0) return { uploads: [], cursor };

  // Read as an admin of the org would (every media owner type is readable by one), one signing call per copy asked.
  const reader = { orgId: request.orgId, userId: request.userId, role: "admin" as const };
  const byCopy = new Map<MediaVariant, string[]>();
  for (const { object } of linked) {
    const copy = isProcessableVideo(parseObjectKey(object.key)!.contentType) ? VIDEO_COPY : "original";
    byCopy.set(copy, [...(byCopy.get(copy) ?? []), object.key]);
  }
  const signed = new Map<string, { url: SignedUrl; copy: MediaVariant }>();
  for (const [copy, keys] of byCopy) {
    const { urls } = await signedUrls(deps.signing, reader, { keys, variant: copy, expiresIn: request.expiresIn });
    for (const url of urls) signed.set(url.key, { url, copy });
  }

  return {
    uploads: linked.map(({ object, ownerType, size }) => {
      const { url: answer, copy } = signed.get(object.key)!;
      const { key: _key, ...facts } = answer;
      return {
        key: object.key,
        ownerType,
        contentType: parseObjectKey(object.key)!.contentType,
        size,
        createdAt: new Date(object.lastModified).toISOString(),
        ...facts,
        ...(answer.status === "ready" ? { copy } : {}),
      };
    }),
    cursor,
  };
}
