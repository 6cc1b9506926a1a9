/**
 * `Scanner` adapter for a ClamAV daemon (clamd) over TCP, using the `zINSTREAM` command:
 *
 *   client: "zINSTREAM\0", then chunks <uint32 big-endian length><bytes> (≤ 64 KiB each here),
 *           then a zero-length chunk (four zero bytes) to end the stream;
 *   clamd:  "stream: OK\0" | "stream: <Signature> FOUND\0" | "<text> ERROR\0", then closes.
 *
 * The source is read only as fast as the socket drains (never buffered whole). clamd answers with
 * an error and closes as soon as the stream exceeds its `StreamMaxLength`; we then stop reading
 * the source. If we were still writing, the kernel may turn clamd's close into a reset before its
 * reply can be read, so an over-long stream shows up either as "INSTREAM size limit exceeded" or as
 * "connection closed after N bytes": both are DependencyUnavailableError("scanner").
 *
 * Every failure to get a verdict (refused, reset, timeout, ERROR reply, unexpected reply) is a
 * DependencyUnavailableError("scanner") whose `cause` is a `ClamdError` with a message of ours
 * (safe to log: it never contains file content). Errors thrown by the source propagate unchanged.
 */
import { connect, type Socket } from "node:net";
import { DependencyUnavailableError } from "../../errors.js";
import type { Scanner, ScanVerdict } from "../../scanning/scanner.js";

export interface ClamdScannerOptions {
  host: string;
  port: number;
  /**
   * Connect timeout, and the longest the connection may stay idle (nothing sent or received:
   * clamd not reading, not replying, or the source not producing). Default 30 000 ms.
   */
  timeoutMs?: number;
}

/** Largest chunk sent in one INSTREAM frame. */
export const CLAMD_MAX_CHUNK_BYTES = 64 * 1024;
const DEFAULT_TIMEOUT_MS = 30_000;
/** A reply longer than this is not from clamd. */
const MAX_REPLY_BYTES = 64 * 1024;
const INSTREAM_COMMAND = Buffer.from("zINSTREAM\0", "latin1");
const END_OF_STREAM = Buffer.alloc(4);

/** Why clamd gave no verdict. The `cause` of DependencyUnavailableError("scanner"). */
export class ClamdError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "ClamdError";
  }
}

/**
 * Parses one clamd INSTREAM reply (trailing NUL / newline allowed).
 * Returns the verdict for `stream: OK` / `stream: <Name> FOUND`; throws ClamdError otherwise.
 */
export function parseClamdReply(reply: string): ScanVerdict {
  const text = reply.replace(/[\0\r\n]+$/u, "").trim();
  if (text === "stream: OK") return { clean: true };
  const found = /^stream: (.+) FOUND$/u.exec(text);
  if (found?.[1]) return { clean: false, signature: found[1] };
  if (/size limit exceeded/iu.test(text)) {
    throw new ClamdError("clamd refused the stream: it is larger than clamd's StreamMaxLength (INSTREAM size limit exceeded)");
  }
  if (/ ERROR$/u.test(text)) throw new ClamdError(`clamd could not scan the stream: ${truncate(text)}`);
  throw new ClamdError(`unexpected reply from clamd: ${JSON.stringify(truncate(text))}`);
}

function truncate(text: string): string {
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}

function describe(error: unknown): string {
  const err = error as NodeJS.ErrnoException | undefined;
  return err?.code ?? (err instanceof Error ? err.message : String(error));
}

/** Connects, or rejects with ClamdError on error or after `timeoutMs`. */
function openSocket(host: string, port: number, timeoutMs: number): Promise<Socket> {
  return new Promise<Socket>((resolve, reject) => {
    const socket = connect({ host, port });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new ClamdError(`could not connect to clamd at ${host}:${port} within ${timeoutMs} ms`));
    }, timeoutMs);
    const onError = (error: Error): void => {
      clearTimeout(timer);
      socket.destroy();
      reject(new ClamdError(`could not connect to clamd at ${host}:${port}: ${describe(error)}`, { cause: error }));
    };
    socket.once("error", onError);
    socket.once("connect", () => {
      clearTimeout(timer);
      socket.removeListener("error", onError);
      resolve(socket);
    });
  });
}

type Outcome = { kind: "reply"; text: string } | { kind: "failed"; error: ClamdError };

/** One connected clamd conversation: collects the reply, turns socket trouble into an outcome. */
class Conversation {
  outcome: Outcome | undefined;
  /** Resolves once `outcome` is set. Never rejects. */
  readonly settled: Promise<void>;
  bytesSent = 0;
  streamEnded = false;
  readonly #socket: Socket;
  readonly #reply: Buffer[] = [];
  #replyBytes = 0;
  readonly #wakeups = new Set<() => void>();
  #resolveSettled!: () => void;

  constructor(socket: Socket, timeoutMs: number) {
    this.#socket = socket;
    this.settled = new Promise<void>((resolve) => (this.#resolveSettled = resolve));
    socket.setNoDelay(true);
    socket.setTimeout(timeoutMs, () => this.#fail(`clamd did not respond for ${timeoutMs} ms`));
    socket.on("data", (chunk: Buffer) => this.#onData(chunk));
    socket.on("error", (error: Error) => this.#fail(this.#closedMessage(describe(error)), error));
    socket.on("close", () => {
      if (this.#replyBytes > 0) this.#settle({ kind: "reply", text: this.#replyText() });
      else this.#fail(this.#closedMessage("connection closed"));
    });
  }

  #closedMessage(what: string): string {
    return this.streamEnded
      ? `clamd closed the connection without a verdict (${what})`
      : `clamd closed the connection after ${this.bytesSent} bytes of the stream, before a reply ` +
          `(${what}); the stream may exceed clamd's StreamMaxLength, or clamd stopped`;
  }

  #onData(chunk: Buffer): void {
    if (this.outcome) return;
    this.#reply.push(chunk);
    this.#replyBytes += chunk.length;
    if (chunk.includes(0)) {
      this.#settle({ kind: "reply", text: this.#replyText() });
    } else if (this.#replyBytes > MAX_REPLY_BYTES) {
      this.#fail(`clamd sent more than ${MAX_REPLY_BYTES} bytes without ending its reply`);
    }
  }

  #replyText(): string {
    const all = Buffer.concat(this.#reply);
    const end = all.indexOf(0);
    return all.subarray(0, end === -1 ? all.length : end).toString("utf8");
  }

  #fail(message: string, cause?: unknown): void {
    this.#settle({ kind: "failed", error: new ClamdError(message, cause === undefined ? undefined : { cause }) });
  }

  #settle(outcome: Outcome): void {
    if (this.outcome) return;
    this.outcome = outcome;
    this.#socket.destroy();
    this.#resolveSettled();
    for (const wake of this.#wakeups) wake();
    this.#wakeups.clear();
  }

  /** Writes one INSTREAM frame; resolves when the socket can take more (drained) or it is over. */
  async writeFrame(payload: Buffer): Promise<void> {
    const header = Buffer.allocUnsafe(4);
    header.writeUInt32BE(payload.length, 0);
    this.#socket.cork();
    this.#socket.write(header);
    const canContinue = this.#socket.write(payload);
    this.#socket.uncork();
    this.bytesSent += payload.length;
    if (!canContinue) await this.#drainOrSettle();
  }

  writeRaw(bytes: Buffer): void {
    this.#socket.write(bytes);
  }

  #drainOrSettle(): Promise<void> {
    return new Promise<void>((resolve) => {
      if (this.outcome) return resolve();
      const wake = (): void => {
        this.#socket.removeListener("drain", wake);
        this.#wakeups.delete(wake);
        resolve();
      };
      this.#socket.on("drain", wake);
      this.#wakeups.add(wake);
    });
  }

  destroy(): void {
    this.#socket.destroy();
  }
}

/** Marks an error thrown by the source, so it is rethrown unchanged. */
class SourceFailure {
  constructor(readonly error: unknown) {}
}

function toBuffer(chunk: Uint8Array): Buffer {
  if (Buffer.isBuffer(chunk)) return chunk;
  if (chunk instanceof Uint8Array) return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  // A programming error in the caller, not a scanner failure: rethrown unchanged.
  throw new SourceFailure(new TypeError(`Scanner source must yield Uint8Array chunks, got ${typeof chunk}`));
}

export class ClamdScanner implements Scanner {
  readonly #host: string;
  readonly #port: number;
  readonly #timeoutMs: number;

  constructor(options: ClamdScannerOptions) {
    this.#host = options.host;
    this.#port = options.port;
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  }

  async scan(source: AsyncIterable<Uint8Array>): Promise<ScanVerdict> {
    let socket: Socket;
    try {
      socket = await openSocket(this.#host, this.#port, this.#timeoutMs);
    } catch (error) {
      throw new DependencyUnavailableError("scanner", { cause: error });
    }
    const conversation = new Conversation(socket, this.#timeoutMs);
    try {
      conversation.writeRaw(INSTREAM_COMMAND);
      await this.#stream(source, conversation);
      await conversation.settled;
      const outcome = conversation.outcome!;
      if (outcome.kind === "failed") throw outcome.error;
      return parseClamdReply(outcome.text);
    } catch (error) {
      if (error instanceof SourceFailure) throw error.error;
      throw new DependencyUnavailableError("scanner", { cause: error });
    } finally {
      conversation.destroy();
    }
  }

  /** Pumps the source into INSTREAM frames, then the end-of-stream frame, honouring backpressure. */
  async #stream(source: AsyncIterable<Uint8Array>, conversation: Conversation): Promise<void> {
    const iterator = source[Symbol.asyncIterator]();
    const stop = conversation.settled.then(() => "stop" as const);
    let exhausted = false;
    try {
      for (;;) {
        const next = iterator.next().then(
          (result) => result,
          (error: unknown) => {
            exhausted = true; // a throwing iterator is finished: don't call return()
            throw new SourceFailure(error);
          },
        );
        // clamd may answer (size limit) or vanish while we wait for the source: stop waiting then.
        const step = await Promise.race([next, stop]);
        if (step === "stop") {
          next.catch(() => undefined);
          return;
        }
        if (step.done) {
          exhausted = true;
          break;
        }
        const buffer = toBuffer(step.value);
        // Never send an empty frame: a zero length ends the stream.
        for (let offset = 0; offset < buffer.length; offset += CLAMD_MAX_CHUNK_BYTES) {
          if (conversation.outcome) return;
          await conversation.writeFrame(buffer.subarray(offset, offset + CLAMD_MAX_CHUNK_BYTES));
        }
      }
      if (conversation.outcome) return;
      conversation.streamEnded = true;
      conversation.writeRaw(END_OF_STREAM);
    } finally {
      // Stopped early (clamd failed/answered, or a write threw): release the source, like `break`
      // in for-await would. Not awaited: a stalled source must not hold up the verdict.
      if (!exhausted) {
        Promise.resolve()
          .then(() => iterator.return?.())
          .catch(() => undefined);
      }
    }
  }
}

/** PING → PONG. Resolves true if clamd answered PONG within `timeoutMs` (default 1000); never throws. */
export function pingClamd(options: { host: string; port: number; timeoutMs?: number }): Promise<boolean> {
  const timeoutMs = options.timeoutMs ?? 1000;
  return new Promise<boolean>((resolve) => {
    let received = "";
    let done = false;
    const socket = connect({ host: options.host, port: options.port });
    const finish = (ok: boolean): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    socket.once("connect", () => socket.write("zPING\0"));
    socket.on("data", (chunk: Buffer) => {
      received += chunk.toString("latin1");
      if (received.includes("\0")) finish(received.startsWith("PONG"));
    });
    socket.once("error", () => finish(false));
    socket.once("close", () => finish(received.startsWith("PONG")));
  });
}
