/**
 * Unfinished multipart uploads remembered across page loads, so that `upload()` of the same file
 * after a reload (or a crash) resumes it instead of starting again. A file is recognised by its
 * name, size and last-modified time (what a file picker gives again for the same file) and the
 * owner type it was presigned for. Kept in a Web Storage (`localStorage` by default); an entry is
 * removed when its upload completes or is cancelled, or when the server no longer knows it.
 *
 * Storage failures (quota, privacy modes, a sandboxed frame) never fail an upload: the upload
 * just cannot be resumed after a reload.
 */

/** The part of the Web Storage API used here (`localStorage` fits; tests pass their own). */
export interface ResumeStorage {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

/** What a resume needs to know without asking the server. */
export interface RememberedUpload {
  uploadId: string;
  partSize: number;
  partCount: number;
  contentType: string;
  size: number;
}

/** A file the picker can give again: a `File` (name, size, last-modified time). */
export interface RecognisableFile {
  name: string;
  size: number;
  lastModified: number;
}

const PREFIX = "fitkit-uploads:resume:v1:";

/** The global `localStorage`, or null where there is none or reading it throws (sandboxed frames, Node). */
export function defaultResumeStorage(): ResumeStorage | null {
  try {
    const storage = (globalThis as { localStorage?: ResumeStorage }).localStorage;
    return storage && typeof storage.getItem === "function" ? storage : null;
  } catch {
    return null;
  }
}

export function isRecognisableFile(value: unknown): value is RecognisableFile {
  const file = value as Partial<RecognisableFile> | null;
  return !!file && typeof file.name === "string" && file.name !== "" && typeof file.size === "number" && typeof file.lastModified === "number";
}

export class ResumeRegistry {
  constructor(
    private readonly storage: ResumeStorage | null,
    /** Uploads of another API (another stage) are other uploads. */
    private readonly apiBaseUrl: string,
  ) {}

  private key(ownerType: string, file: RecognisableFile): string {
    return `${PREFIX}${JSON.stringify([this.apiBaseUrl, ownerType, file.name, file.size, file.lastModified])}`;
  }

  /** The unfinished upload of this file, if one is remembered and still fits it (same size and type). */
  find(ownerType: string, file: RecognisableFile, contentType: string): RememberedUpload | undefined {
    if (!this.storage) return undefined;
    try {
      const text = this.storage.getItem(this.key(ownerType, file));
      if (!text) return undefined;
      const entry = JSON.parse(text) as Partial<RememberedUpload>;
      const valid =
        typeof entry.uploadId === "string" &&
        /^[0-9a-f]{32}$/.test(entry.uploadId) &&
        Number.isInteger(entry.partSize) &&
        Number.isInteger(entry.partCount) &&
        entry.size === file.size &&
        entry.contentType === contentType;
      if (valid) return entry as RememberedUpload;
      this.storage.removeItem(this.key(ownerType, file));
      return undefined;
    } catch {
      return undefined;
    }
  }

  remember(ownerType: string, file: RecognisableFile, upload: RememberedUpload): void {
    try {
      this.storage?.setItem(this.key(ownerType, file), JSON.stringify(upload));
    } catch {
      /* full or refused: this upload just cannot be resumed after a reload */
    }
  }

  forget(ownerType: string, file: RecognisableFile): void {
    try {
      this.storage?.removeItem(this.key(ownerType, file));
    } catch {
      /* nothing to do */
    }
  }
}
