// ClamdScanner against a REAL clamd (support/clamd.ts), plus two misbehaving TCP peers
// (one that never reads, one that never answers) for the backpressure and timeout paths.
import { randomBytes } from "node:crypto";
import { createServer, type Server, type Socket } from "node:net";
import { CLAMD_MAX_CHUNK_BYTES, ClamdError, ClamdScanner, parseClamdReply, pingClamd } from "@fitkit/core/adapters/clamd/clamd-scanner";
import { DependencyUnavailableError } from "@fitkit/core/errors";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ClamdServer, EICAR, EICAR_SIGNATURE, startClamd } from "../support/clamd.js";

const MiB = 1024 * 1024;
const eicarBytes = Buffer.from(EICAR, "latin1");

async function* chunks(...parts: Uint8Array[]): AsyncGenerator<Uint8Array> {
  for (const part of parts) yield part;
}

/** A PNG-looking buffer: signature, IHDR chunk header, then noise. */
function pngish(size = 32 * 1024): Buffer {
  const header = Buffer.from("89504e470d0a1a0a0000000d49484452000001000000010008060000005c72a866", "hex");
  return Buffer.concat([header, randomBytes(size - header.length)]);
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Expects `promise` to reject with DependencyUnavailableError("scanner"); returns its ClamdError cause. */
async function expectScannerUnavailable(promise: Promise<unknown>): Promise<ClamdError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(DependencyUnavailableError);
  const unavailable = error as DependencyUnavailableError;
  expect(unavailable.dependency).toBe("scanner");
  expect(unavailable.code).toBe("DEPENDENCY_UNAVAILABLE");
  expect(unavailable.cause).toBeInstanceOf(ClamdError);
  return unavailable.cause as ClamdError;
}

async function listen(onConnection: (socket: Socket) => void): Promise<{ server: Server; port: number; sockets: Set<Socket> }> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => {});
    onConnection(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (!address || typeof address === "string") throw new Error("no port");
  return { server, port: address.port, sockets };
}

async function closeServer(peer: { server: Server; sockets: Set<Socket> }): Promise<void> {
  for (const socket of peer.sockets) socket.destroy();
  await new Promise<void>((resolve) => peer.server.close(() => resolve()));
}

/** A port with nothing listening on it. */
async function deadPort(): Promise<number> {
  const peer = await listen(() => {});
  await closeServer(peer);
  return peer.port;
}

let clamd: ClamdServer;
let scanner: ClamdScanner;

beforeAll(async () => {
  clamd = await startClamd();
  scanner = new ClamdScanner({ host: clamd.host, port: clamd.port });
});

afterAll(async () => {
  await clamd?.close();
});

describe("ClamdScanner against a real clamd", () => {
  it("answers PING", async () => {
    expect(await pingClamd({ host: clamd.host, port: clamd.port })).toBe(true);
  });

  it("detects EICAR and reports the signature name clamd gives", async () => {
    expect(EICAR).toHaveLength(68);
    expect(await scanner.scan(chunks(eicarBytes))).toEqual({ clean: false, signature: "FitKit.Test.EICAR.UNOFFICIAL" });
    expect(EICAR_SIGNATURE).toBe("FitKit.Test.EICAR.UNOFFICIAL");
  });

  it("detects EICAR at offset 0 of a larger upload, and embedded mid-file", async () => {
    expect(await scanner.scan(chunks(eicarBytes, Buffer.from("\n"), randomBytes(MiB)))).toEqual({
      clean: false,
      signature: EICAR_SIGNATURE,
    });
    expect(await scanner.scan(chunks(pngish(), eicarBytes, pngish()))).toEqual({ clean: false, signature: EICAR_SIGNATURE });
  });

  it("detects EICAR split across source chunks and across 64 KiB frames (frames are reassembled in order)", async () => {
    // Split in the source: one byte at a time.
    const bytewise = [...eicarBytes].map((byte) => Uint8Array.of(byte));
    expect(await scanner.scan(chunks(...bytewise))).toEqual({ clean: false, signature: EICAR_SIGNATURE });
    // Split by the adapter: one 200 KiB chunk with EICAR straddling the first 64 KiB frame boundary.
    const big = randomBytes(200 * 1024);
    eicarBytes.copy(big, CLAMD_MAX_CHUNK_BYTES - 30);
    expect(await scanner.scan(chunks(big))).toEqual({ clean: false, signature: EICAR_SIGNATURE });
  });

  it("never sends an empty frame: empty source chunks do not end the stream early", async () => {
    const empty = new Uint8Array(0);
    expect(await scanner.scan(chunks(pngish(), empty, empty, eicarBytes))).toEqual({
      clean: false,
      signature: EICAR_SIGNATURE,
    });
  });

  it("accepts plain Uint8Array chunks (not only Buffers), including views into a larger buffer", async () => {
    const backing = new Uint8Array(1000 + eicarBytes.length + 1000);
    backing.set(eicarBytes, 1000);
    const view = new Uint8Array(backing.buffer, 1000, eicarBytes.length);
    expect(await scanner.scan(chunks(view))).toEqual({ clean: false, signature: EICAR_SIGNATURE });
  });

  it("reports a clean PNG-ish buffer as clean", async () => {
    expect(await scanner.scan(chunks(pngish()))).toEqual({ clean: true });
  });

  it("reports an empty stream as clean", async () => {
    expect(await scanner.scan(chunks())).toEqual({ clean: true });
  });

  it("streams a multi-MiB clean source delivered in odd-sized chunks", async () => {
    const sizes = [1, 7, 4093, CLAMD_MAX_CHUNK_BYTES - 1, CLAMD_MAX_CHUNK_BYTES, CLAMD_MAX_CHUNK_BYTES + 1, 100_003, 333_333];
    const total = 12 * MiB + 12_345;
    let yielded = 0;
    let chunkCount = 0;
    async function* source(): AsyncGenerator<Uint8Array> {
      const header = pngish(4096);
      yield header;
      yielded += header.length;
      while (yielded < total) {
        const size = Math.min(sizes[chunkCount++ % sizes.length]!, total - yielded);
        yielded += size;
        yield randomBytes(size);
      }
    }
    expect(await scanner.scan(source())).toEqual({ clean: true });
    expect(yielded).toBe(total);
    expect(chunkCount).toBeGreaterThan(50);
  });

  it("gives each of several concurrent scans its own verdict", async () => {
    const verdicts = await Promise.all(Array.from({ length: 8 }, (_, i) => scanner.scan(i % 2 === 0 ? chunks(pngish(), eicarBytes) : chunks(pngish()))));
    expect(verdicts).toEqual(verdicts.map((_, i) => (i % 2 === 0 ? { clean: false, signature: EICAR_SIGNATURE } : { clean: true })));
  });

  it("rethrows an error from the source unchanged (it is not the scanner's failure)", async () => {
    const boom = new Error("storage read failed");
    async function* source(): AsyncGenerator<Uint8Array> {
      yield pngish();
      throw boom;
    }
    await expect(scanner.scan(source())).rejects.toBe(boom);
    // clamd is unaffected.
    expect(await scanner.scan(chunks(eicarBytes))).toEqual({ clean: false, signature: EICAR_SIGNATURE });
  });

  it("rejects a source that yields something other than bytes with a TypeError (a caller bug, not a 503)", async () => {
    const source = chunks("not bytes" as unknown as Uint8Array);
    await expect(scanner.scan(source)).rejects.toBeInstanceOf(TypeError);
  });
});

describe("ClamdScanner when clamd fails", () => {
  // Its own clamd, with a 1 MiB StreamMaxLength, so it can also be killed.
  let small: ClamdServer;
  let smallScanner: ClamdScanner;

  beforeAll(async () => {
    small = await startClamd({ streamMaxLength: "1M" });
    smallScanner = new ClamdScanner({ host: small.host, port: small.port });
  });

  afterAll(async () => {
    await small?.close();
  });

  it("turns clamd's 'INSTREAM size limit exceeded' reply into DependencyUnavailableError and stops reading", async () => {
    let yielded = 0;
    let released = false;
    async function* slowSource(): AsyncGenerator<Uint8Array> {
      try {
        for (let i = 0; i < 64; i++) {
          await sleep(5); // slow enough that clamd's reply is read before our next write
          yielded += CLAMD_MAX_CHUNK_BYTES;
          yield randomBytes(CLAMD_MAX_CHUNK_BYTES);
        }
      } finally {
        released = true;
      }
    }
    const cause = await expectScannerUnavailable(smallScanner.scan(slowSource()));
    expect(cause.message).toBe("clamd refused the stream: it is larger than clamd's StreamMaxLength (INSTREAM size limit exceeded)");
    expect(yielded).toBeLessThan(2 * MiB);
    await sleep(50);
    expect(released).toBe(true);
  });

  it("reports an over-long fast stream as DependencyUnavailableError too (the reply may be lost to a reset)", async () => {
    let yielded = 0;
    async function* fastSource(): AsyncGenerator<Uint8Array> {
      for (let i = 0; i < 1024; i++) {
        yielded += CLAMD_MAX_CHUNK_BYTES;
        yield randomBytes(CLAMD_MAX_CHUNK_BYTES);
      }
    }
    const cause = await expectScannerUnavailable(smallScanner.scan(fastSource()));
    expect(cause.message).toMatch(/StreamMaxLength/);
    expect(yielded).toBeLessThan(32 * MiB); // of 64 MiB: reading stopped
    // A stream within the limit still works on the same clamd.
    expect(await smallScanner.scan(chunks(pngish(512 * 1024), eicarBytes))).toEqual({
      clean: false,
      signature: EICAR_SIGNATURE,
    });
  });

  it("rejects promptly when clamd dies mid-stream, even while the source is stalled", async () => {
    let firstChunkSent!: () => void;
    const firstChunk = new Promise<void>((resolve) => (firstChunkSent = resolve));
    async function* stallingSource(): AsyncGenerator<Uint8Array> {
      yield pngish();
      firstChunkSent();
      await new Promise(() => {}); // never produces again
    }
    const scan = expectScannerUnavailable(smallScanner.scan(stallingSource()));
    await firstChunk;
    const started = performance.now();
    await small.stop();
    const cause = await scan;
    expect(performance.now() - started).toBeLessThan(2000);
    expect(cause.message).toMatch(/closed the connection/);
  });

  it("rejects with DependencyUnavailableError when clamd is stopped (connection refused)", async () => {
    await small.stop();
    expect(await pingClamd({ host: small.host, port: small.port })).toBe(false);
    const cause = await expectScannerUnavailable(smallScanner.scan(chunks(eicarBytes)));
    expect(cause.message).toMatch(/ECONNREFUSED/);
  });

  it("rejects promptly with DependencyUnavailableError for an unreachable port, without reading the source", async () => {
    const port = await deadPort();
    let read = false;
    async function* source(): AsyncGenerator<Uint8Array> {
      read = true;
      yield eicarBytes;
    }
    const started = performance.now();
    await expectScannerUnavailable(new ClamdScanner({ host: "127.0.0.1", port }).scan(source()));
    expect(performance.now() - started).toBeLessThan(1000);
    expect(read).toBe(false);
    expect(await pingClamd({ host: "127.0.0.1", port })).toBe(false);
  });

  it("times out against a peer that never answers", async () => {
    const peer = await listen((socket) => socket.resume()); // reads everything, says nothing
    try {
      const started = performance.now();
      const cause = await expectScannerUnavailable(new ClamdScanner({ host: "127.0.0.1", port: peer.port, timeoutMs: 300 }).scan(chunks(pngish())));
      expect(cause.message).toBe("clamd did not respond for 300 ms");
      expect(performance.now() - started).toBeLessThan(2000);
    } finally {
      await closeServer(peer);
    }
  });

  it("respects backpressure: a peer that never reads stops the source being read, then times out", async () => {
    const peer = await listen((socket) => socket.pause()); // accepts, never reads
    let yielded = 0;
    let released = false;
    async function* endless(): AsyncGenerator<Uint8Array> {
      try {
        const chunk = Buffer.alloc(CLAMD_MAX_CHUNK_BYTES, 0x5a);
        for (;;) {
          yielded += chunk.length;
          yield chunk;
        }
      } finally {
        released = true;
      }
    }
    try {
      await expectScannerUnavailable(new ClamdScanner({ host: "127.0.0.1", port: peer.port, timeoutMs: 500 }).scan(endless()));
      // Only what fits in the socket buffers (kernel + Node's high-water mark) was read.
      expect(yielded).toBeLessThan(32 * MiB);
      await sleep(20);
      expect(released).toBe(true);
    } finally {
      await closeServer(peer);
    }
  });
});

describe("parseClamdReply", () => {
  it("parses verdicts", () => {
    expect(parseClamdReply("stream: OK\0")).toEqual({ clean: true });
    expect(parseClamdReply("stream: OK\n")).toEqual({ clean: true });
    expect(parseClamdReply("stream: Win.Test.EICAR_HDB-1 FOUND\0")).toEqual({
      clean: false,
      signature: "Win.Test.EICAR_HDB-1",
    });
    expect(parseClamdReply("stream: Heuristics.Limits.Exceeded.MaxFileSize FOUND")).toEqual({
      clean: false,
      signature: "Heuristics.Limits.Exceeded.MaxFileSize",
    });
  });

  it("throws ClamdError for errors and anything unexpected", () => {
    expect(() => parseClamdReply("INSTREAM size limit exceeded. ERROR\0")).toThrow(/StreamMaxLength/);
    expect(() => parseClamdReply("stream: Can't allocate memory ERROR\0")).toThrow("clamd could not scan the stream: stream: Can't allocate memory ERROR");
    expect(() => parseClamdReply("COMMAND READ TIMED OUT\0")).toThrow(ClamdError);
    expect(() => parseClamdReply("")).toThrow(ClamdError);
    expect(() => parseClamdReply("stream:  FOUND")).toThrow(ClamdError);
  });
});
