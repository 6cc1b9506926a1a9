/**
 * React binding of the upload client (its own entry point: `client/index.ts` stays free of React).
 *
 * `useUpload({ ownerType, apiBaseUrl, getToken })` (or `{ ownerType, uploader }`) → `upload(files)`,
 * per-file and total `progress`, `abort()`, the typed `error` and the resulting `uploadIds`.
 * One upload at a time per hook: a new `upload` aborts the one in flight; unmounting aborts too.
 * React ≥ 18 is a peer dependency.
 */
import { useCallback, useEffect, useRef, useState } from "react";
import { UploadClientError } from "./errors.js";
import type { FileProgress, UploadProgress } from "./progress.js";
import { createUploader, type OwnerType, type UploadedFile, type Uploader, type UploaderOptions, type UploadSource } from "./uploader.js";

export type UseUploadOptions = { ownerType: OwnerType } & ({ uploader: Uploader } | UploaderOptions);

export type UploadStatus = "idle" | "uploading" | "done" | "error" | "aborted";

export interface UseUploadResult {
  /**
   * Uploads the files (all or nothing). Resolves with them in input order, or with `undefined`
   * when the upload failed or was aborted — the reason is in `error` — so a click handler never
   * leaves a rejected promise behind.
   */
  upload(files: UploadSource | readonly UploadSource[] | FileList): Promise<UploadedFile[] | undefined>;
  /** Stops the upload in flight (presigns, PUTs, waits); `status` becomes "aborted". */
  abort(): void;
  /** Back to "idle", clearing progress, error and results (aborts an upload in flight). */
  reset(): void;
  status: UploadStatus;
  /** Total bytes, fraction and percent (0–100, 100 only once every file is stored). */
  progress: UploadProgress | null;
  /** Per file: loaded, total, state (queued → uploading → retrying → done), attempt. */
  files: FileProgress[];
  /** The uploaded files once `status` is "done" (send their `uploadId`s with the parent write). */
  uploaded: UploadedFile[];
  uploadIds: string[];
  /** The typed error when `status` is "error" or "aborted" (`code` "ABORTED"). */
  error: UploadClientError | null;
}

interface State {
  status: UploadStatus;
  progress: UploadProgress | null;
  uploaded: UploadedFile[];
  error: UploadClientError | null;
}

const IDLE: State = { status: "idle", progress: null, uploaded: [], error: null };

export function useUpload(options: UseUploadOptions): UseUploadResult {
  // The latest options, read when an upload starts: a new getToken closure each render is fine.
  const latest = useRef(options);
  latest.current = options;
  const own = useRef<{ apiBaseUrl: string; uploader: Uploader } | null>(null);
  const inFlight = useRef<AbortController | null>(null);
  const [state, setState] = useState<State>(IDLE);

  const uploaderFor = useCallback((current: UseUploadOptions): Uploader => {
    if ("uploader" in current) return current.uploader;
    if (own.current?.apiBaseUrl !== current.apiBaseUrl) {
      own.current = {
        apiBaseUrl: current.apiBaseUrl,
        uploader: createUploader({ ...current, getToken: () => (latest.current as UploaderOptions).getToken() }),
      };
    }
    return own.current.uploader;
  }, []);

  const upload = useCallback(
    async (files: UploadSource | readonly UploadSource[] | FileList): Promise<UploadedFile[] | undefined> => {
      inFlight.current?.abort();
      const controller = new AbortController();
      inFlight.current = controller;
      const sources: readonly UploadSource[] = isFileList(files) ? Array.from(files) : Array.isArray(files) ? files : [files as UploadSource];
      const isCurrent = () => inFlight.current === controller;
      setState({ ...IDLE, status: "uploading" });
      try {
        const uploaded = await uploaderFor(latest.current).upload(sources, {
          ownerType: latest.current.ownerType,
          signal: controller.signal,
          onProgress: (progress) => {
            if (isCurrent()) setState((previous) => ({ ...previous, progress }));
          },
        });
        if (isCurrent()) setState((previous) => ({ ...previous, status: "done", uploaded }));
        return uploaded;
      } catch (caught) {
        const error =
          caught instanceof UploadClientError ? caught : new UploadClientError("BAD_RESPONSE", "The upload failed unexpectedly.", { cause: caught });
        if (isCurrent()) setState((previous) => ({ ...previous, status: error.code === "ABORTED" ? "aborted" : "error", error }));
        return undefined;
      } finally {
        if (isCurrent()) inFlight.current = null;
      }
    },
    [uploaderFor],
  );

  const abort = useCallback(() => inFlight.current?.abort(), []);
  const reset = useCallback(() => {
    const controller = inFlight.current;
    inFlight.current = null;
    controller?.abort();
    setState(IDLE);
  }, []);

  // Nothing keeps uploading for a component that is gone.
  useEffect(() => () => inFlight.current?.abort(), []);

  return {
    upload,
    abort,
    reset,
    status: state.status,
    progress: state.progress,
    files: state.progress?.files ?? [],
    uploaded: state.uploaded,
    uploadIds: state.uploaded.map((file) => file.uploadId),
    error: state.error,
  };
}

const isFileList = (value: unknown): value is FileList => typeof FileList !== "undefined" && value instanceof FileList;
