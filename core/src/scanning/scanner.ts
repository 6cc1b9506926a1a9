/**
 * The virus-scanning port. Core code asks "is this content clean?"; an adapter (clamd in
 * production and tests) answers. A detection is a verdict, not an error: the caller decides what
 * to do with it (e.g. throw `MalwareDetectedError`). Failing to get a verdict is an error.
 */
export type ScanVerdict = { clean: true } | { clean: false; signature: string };

/** Where the bytes of a scan are stored, when they are: the first `maxBytes` of `bucket`/`key`. */
export interface StoredScanSource {
  bucket: string;
  key: string;
  maxBytes: number;
}

export interface Scanner {
  /**
   * Streams `source` to the scanner without buffering it whole.
   * `stored`, when given, says that `source` is the first `maxBytes` of that stored object: a
   * scanner in another process (the scanner Lambda) reads them from storage itself instead of
   * receiving the stream, and then releases `source` unread.
   * Throws DependencyUnavailableError("scanner") when the scanner cannot be reached or fails.
   * Errors thrown by `source` itself propagate unchanged (they are the source's failure, not the
   * scanner's).
   */
  scan(source: AsyncIterable<Uint8Array>, stored?: StoredScanSource): Promise<ScanVerdict>;
}
