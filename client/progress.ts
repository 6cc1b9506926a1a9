/**
 * Progress accounting for one `upload` call: per file and in total, never going backwards, and
 * 100% only once storage has confirmed every file. Reported to the app as snapshots.
 */

export type FileState = "queued" | "uploading" | "retrying" | "done";

export interface FileProgress {
  index: number;
  fileName?: string;
  /** Bytes sent; never goes backwards (a retry resumes the bar where it was). */
  loaded: number;
  total: number;
  state: FileState;
  /** Attempts so far (1 = first try). */
  attempt: number;
}

export interface UploadProgress {
  /** Bytes sent over all files, never decreasing. */
  loaded: number;
  total: number;
  /** 0…1; reaches 1 only once every file is stored. */
  fraction: number;
  /** 0…100 (floored); 100 only once every file is stored. */
  percent: number;
  files: FileProgress[];
}

/** A change to one file's progress: bytes the transport reports sent, a new state, an attempt number. */
export interface FileProgressChange {
  loaded?: number;
  state?: FileState;
  attempt?: number;
}

/** Per-file and total progress, monotonic, reported as snapshots (an unchanged one is not repeated). */
export class ProgressTracker {
  private readonly files: FileProgress[];
  private last = "";

  constructor(
    files: readonly { index: number; size: number; fileName?: string }[],
    private readonly listener: ((progress: UploadProgress) => void) | undefined,
  ) {
    this.files = files.map((file) => ({
      index: file.index,
      ...(file.fileName ? { fileName: file.fileName } : {}),
      loaded: 0,
      total: file.size,
      state: "queued",
      attempt: 0,
    }));
  }

  update(index: number, change: FileProgressChange): void {
    const file = this.files[index]!;
    if (file.state === "done") return;
    if (change.state) file.state = change.state;
    if (change.attempt !== undefined) file.attempt = change.attempt;
    if (file.state === "done") file.loaded = file.total;
    // Until storage has confirmed the file, keep one byte back: 100% means stored, not sent.
    else if (change.loaded !== undefined) file.loaded = Math.max(file.loaded, Math.min(change.loaded, file.total - 1));
    this.emit();
  }

  emit(): void {
    if (!this.listener) return;
    const loaded = this.files.reduce((sum, f) => sum + f.loaded, 0);
    const total = this.files.reduce((sum, f) => sum + f.total, 0);
    const allDone = this.files.every((f) => f.state === "done");
    const fraction = allDone ? 1 : total === 0 ? 0 : Math.min(loaded / total, 0.9999);
    const signature = this.files.map((f) => `${f.loaded}:${f.state}:${f.attempt}`).join(",");
    if (signature === this.last) return;
    this.last = signature;
    const snapshot: UploadProgress = { loaded, total, fraction, percent: allDone ? 100 : Math.floor(fraction * 100), files: this.files.map((f) => ({ ...f })) };
    try {
      this.listener(snapshot);
    } catch (error) {
      // A bug in the app's callback must not break the upload; surface it like an event handler's.
      setTimeout(() => {
        throw error;
      }, 0);
    }
  }
}
