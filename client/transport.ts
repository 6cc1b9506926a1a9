/**
 * The PUT to storage, with upload progress: XMLHttpRequest where it exists (browsers, React
 * Native: `fetch` reports no upload progress there), `fetch` otherwise (Node, Bun, Deno, workers).
 * No Node-only module is imported; runtime features are detected.
 */
import { UploadClientError } from "./errors.js";

export type UploadBody = Blob | ArrayBuffer | Uint8Array;

export interface PutRequest {
  url: string;
  /** The headers presign returned, sent as they are except those the runtime sets itself. */
  headers: Record<string, string>;
  body: UploadBody;
  size: number;
  signal: AbortSignal;
  /** Bytes sent so far (may repeat a value; never called after the promise settles). */
  onProgress(loaded: number): void;
}

export interface PutResponse {
  status: number;
  /** The response body (storage's XML error document on failure). */
  text: string;
}

/** Sends one PUT; rejects with UploadClientError `NETWORK_ERROR` (no answer) or `ABORTED`. */
export type PutTransport = (request: PutRequest) => Promise<PutResponse>;

/**
 * Headers the runtime computes from the request: browsers refuse to let scripts set them, and the
 * value the runtime sends (the body's length, the URL's host) is the one that was signed.
 */
const RUNTIME_HEADERS = new Set(["content-length", "host"]);

const networkError = (cause?: unknown) => new UploadClientError("NETWORK_ERROR", "The upload could not reach storage.", cause === undefined ? {} : { cause });
export const abortedError = () => new UploadClientError("ABORTED", "The upload was cancelled.");

type XhrConstructor = new () => XMLHttpRequest;

export function xhrTransport(Xhr: XhrConstructor): PutTransport {
  return (request) =>
    new Promise<PutResponse>((resolve, reject) => {
      if (request.signal.aborted) return reject(abortedError());
      const xhr = new Xhr();
      let settled = false;
      const settle = (fn: () => void) => {
        if (settled) return;
        settled = true;
        request.signal.removeEventListener("abort", onAbort);
        fn();
      };
      const onAbort = () => {
        xhr.abort();
        settle(() => reject(abortedError()));
      };
      xhr.open("PUT", request.url);
      for (const [name, value] of Object.entries(request.headers)) {
        if (!RUNTIME_HEADERS.has(name.toLowerCase())) xhr.setRequestHeader(name, value);
      }
      xhr.upload.onprogress = (event) => {
        if (!settled) request.onProgress(event.loaded);
      };
      xhr.onload = () => settle(() => resolve({ status: xhr.status, text: typeof xhr.responseText === "string" ? xhr.responseText : "" }));
      // A CORS refusal also lands here: the browser gives scripts no detail, by design.
      xhr.onerror = () => settle(() => reject(networkError()));
      xhr.ontimeout = () => settle(() => reject(networkError()));
      xhr.onabort = () => settle(() => reject(request.signal.aborted ? abortedError() : networkError()));
      request.signal.addEventListener("abort", onAbort, { once: true });
      xhr.send(request.body as XMLHttpRequestBodyInit);
    });
}

export interface FetchTransportOptions {
  /**
   * Stream the body to count bytes as they are sent (progress with `fetch`). Needs request
   * streams over HTTP/1.1 with an explicit `content-length`, which Node's fetch supports and
   * browsers do not; the default is on in Node-compatible runtimes only. Without it, progress
   * jumps from 0 to the whole file when storage answers.
   */
  stream?: boolean;
}

const CHUNK_BYTES = 64 * 1024;

/** Whether this runtime's fetch can stream a request body of a declared length (Node, Bun, Deno). */
export function canStreamRequestBodies(): boolean {
  const g = globalThis as { process?: { versions?: { node?: string } }; ReadableStream?: unknown };
  return typeof g.ReadableStream === "function" && typeof g.process?.versions?.node === "string";
}

export function fetchTransport(fetchFn: typeof fetch, options: FetchTransportOptions = {}): PutTransport {
  const stream = options.stream ?? canStreamRequestBodies();
  return async (request) => {
    if (request.signal.aborted) throw abortedError();
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(request.headers)) {
      if (!RUNTIME_HEADERS.has(name.toLowerCase())) headers[name] = value;
    }
    const init: RequestInit & { duplex?: "half" } = { method: "PUT", headers, signal: request.signal };
    if (stream) {
      // A stream has no length of its own: declare it, exactly as signed.
      headers["content-length"] = String(request.size);
      init.body = countingStream(request.body, (loaded) => request.onProgress(loaded));
      init.duplex = "half";
    } else {
      init.body = request.body as BodyInit;
    }
    let response: Response;
    let text: string;
    try {
      response = await fetchFn(request.url, init);
      text = await response.text();
    } catch (error) {
      if (request.signal.aborted) throw abortedError();
      throw networkError(error);
    }
    return { status: response.status, text };
  };
}

/** The body as a pull stream that reports each chunk as the sender takes it. */
function countingStream(body: UploadBody, onProgress: (loaded: number) => void): ReadableStream<Uint8Array> {
  let loaded = 0;
  if (typeof Blob !== "undefined" && body instanceof Blob) {
    let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
    // A Blob may stream in large chunks (Node gives an in-memory Blob's slice as one): hand them
    // on in CHUNK_BYTES pieces, so progress moves while a large part is sent.
    let rest: Uint8Array = new Uint8Array(0);
    return new ReadableStream<Uint8Array>(
      {
        async pull(controller) {
          if (rest.byteLength === 0) {
            reader ??= (body.stream() as ReadableStream<Uint8Array>).getReader();
            const { done, value } = await reader.read();
            if (done) return controller.close();
            rest = value;
          }
          const chunk = rest.subarray(0, CHUNK_BYTES);
          rest = rest.subarray(chunk.byteLength);
          loaded += chunk.byteLength;
          controller.enqueue(chunk);
          onProgress(loaded);
        },
        cancel: (reason) => reader?.cancel(reason),
      },
      { highWaterMark: 0 },
    );
  }
  const bytes = body instanceof Uint8Array ? body : new Uint8Array(body as ArrayBuffer);
  return new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        if (loaded >= bytes.byteLength) return controller.close();
        // A copy: the sender may hold on to the chunk, and the caller's buffer is theirs.
        const chunk = bytes.slice(loaded, loaded + CHUNK_BYTES);
        loaded += chunk.byteLength;
        controller.enqueue(chunk);
        onProgress(loaded);
      },
    },
    { highWaterMark: 0 },
  );
}
