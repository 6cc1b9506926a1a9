// An embedded S3-compatible server for the local stack and the tests: @20minutes/s3rver, patched
// (patches/@20minutes+s3rver+4.0.4.patch) so it checks SigV4 like R2 does and honours
// `If-None-Match: *` / `If-Match` on PUT, implements R2's multipart API (ListParts, Abort,
// ListMultipartUploads; Complete checks parts, order, sizes and ETags; a part must be exactly its
// Content-Length); and, when asked, refusing writes to locked keys as R2's
// bucket lock does (`retentionLocks`, done in the child).
//
// It runs in a forked child (local/embedded-s3-child.mjs) so that it gets
// `--openssl-legacy-provider` (ListObjectsV2 continuation tokens use DES) without changing the
// parent's OpenSSL setup, and so that its synchronous work never blocks the caller's event loop.
// The child exits when the parent goes away (IPC disconnect, or a new parent pid), so it never
// outlives a crashed test or a killed local stack.
import { type ChildProcess, fork } from "node:child_process";
import { mkdir } from "node:fs/promises";
import { fileURLToPath } from "node:url";

export interface EmbeddedS3Cors {
  allowedOrigins: string[];
  allowedMethods: string[];
  allowedHeaders: string[];
  exposeHeaders?: string[];
  maxAgeSeconds?: number;
}

export interface EmbeddedS3Options {
  /** Interface to bind; default 127.0.0.1. */
  host?: string;
  /** 0 picks a free port; default 0. */
  port?: number;
  /** Where objects are stored (created if missing). */
  directory: string;
  /** Buckets created at start-up (existing ones in `directory` are kept). */
  buckets: string[];
  /** Bucket CORS configuration, applied to every bucket. */
  cors?: EmbeddedS3Cors;
  /**
   * R2 bucket-lock rules to emulate: an existing object under `prefix` in `bucket` cannot be
   * overwritten (PUT, copy, multipart complete) or deleted — 403 AccessDenied. The local stack
   * locks the whole records bucket, as `stacks/storage.ts` does on R2.
   */
  retentionLocks?: { bucket: string; prefix: string }[];
}

export interface EmbeddedS3 {
  /** e.g. http://127.0.0.1:PORT — use with `forcePathStyle: true`. */
  endpoint: string;
  port: number;
  /** The child process running the server (tests pause it with SIGSTOP). */
  pid: number;
  /** "auto", as for R2 (the server does not check the region, the signature covers it). */
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** Resolves when the child process has exited, however (close(), a crash, a kill). */
  exited: Promise<EmbeddedS3Exit>;
  /** Stops the server; resolves once the child process has exited. Idempotent. */
  close(): Promise<void>;
}

export interface EmbeddedS3Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** s3rver's only account (hard-coded in s3rver). Any other key id → 403 InvalidAccessKeyId. */
const ACCESS_KEY_ID = "S3RVER";
const SECRET_ACCESS_KEY = "S3RVER";
const REGION = "auto";
const START_TIMEOUT_MS = 15_000;

const CHILD_SCRIPT = fileURLToPath(new URL("./embedded-s3-child.mjs", import.meta.url));

type ChildMessage = { type: "ready"; port: number } | { type: "error"; message: string };

export async function startEmbeddedS3(options: EmbeddedS3Options): Promise<EmbeddedS3> {
  const host = options.host ?? "127.0.0.1";
  const port = options.port ?? 0;
  await mkdir(options.directory, { recursive: true });

  const corsXml = options.cors ? corsConfigurationXml(options.cors) : undefined;
  const config = {
    host,
    port,
    directory: options.directory,
    buckets: options.buckets.map((name) => ({ name, corsXml })),
    retentionLocks: options.retentionLocks ?? [],
  };

  // Only the flag we need: no inherited TS loader (tsx/vitest) in the child.
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  const child = fork(CHILD_SCRIPT, [JSON.stringify(config)], {
    execArgv: ["--openssl-legacy-provider"],
    env,
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });

  const exited = new Promise<EmbeddedS3Exit>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve({ code: child.exitCode, signal: child.signalCode });
    else child.once("exit", (code, signal) => resolve({ code, signal }));
  });

  let boundPort: number;
  try {
    boundPort = await waitForReady(child);
  } catch (error) {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    await exited;
    throw error;
  }

  // Do not keep the parent alive just for the server: if the caller never closes it, the parent
  // may still exit, and the child then follows on IPC disconnect.
  child.unref();
  child.channel?.unref();

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.ref(); // keep the loop alive until the exit is observed
        child.kill("SIGTERM");
      }
      await exited;
    })();
    return closing;
  };

  const endpointHost = host.includes(":") ? `[${host}]` : host;
  return {
    endpoint: `http://${endpointHost}:${boundPort}`,
    port: boundPort,
    pid: child.pid!,
    exited,
    region: REGION,
    accessKeyId: ACCESS_KEY_ID,
    secretAccessKey: SECRET_ACCESS_KEY,
    close,
  };
}

function waitForReady(child: ChildProcess): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    const cleanup = () => {
      clearTimeout(timer);
      child.off("message", onMessage);
      child.off("exit", onExit);
      child.off("error", onError);
    };
    const onMessage = (message: ChildMessage) => {
      cleanup();
      if (message.type === "ready") resolve(message.port);
      else reject(new Error(`embedded S3 failed to start: ${message.message}`));
    };
    const onExit = (code: number | null, signal: NodeJS.Signals | null) => {
      cleanup();
      reject(new Error(`embedded S3 exited before it was ready (code ${code}, signal ${signal})`));
    };
    const onError = (error: Error) => {
      cleanup();
      reject(error);
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`embedded S3 did not start within ${START_TIMEOUT_MS} ms`));
    }, START_TIMEOUT_MS);
    child.on("message", onMessage);
    child.once("exit", onExit);
    child.once("error", onError);
  });
}

function corsConfigurationXml(cors: EmbeddedS3Cors): string {
  const element = (name: string, value: string | number) => `<${name}>${escapeXml(String(value))}</${name}>`;
  const rule = [
    ...cors.allowedOrigins.map((origin) => element("AllowedOrigin", origin)),
    ...cors.allowedMethods.map((method) => element("AllowedMethod", method.toUpperCase())),
    ...cors.allowedHeaders.map((header) => element("AllowedHeader", header)),
    ...(cors.exposeHeaders ?? []).map((header) => element("ExposeHeader", header)),
    ...(cors.maxAgeSeconds === undefined ? [] : [element("MaxAgeSeconds", cors.maxAgeSeconds)]),
  ].join("");
  return `<?xml version="1.0" encoding="UTF-8"?><CORSConfiguration><CORSRule>${rule}</CORSRule></CORSConfiguration>`;
}

function escapeXml(value: string): string {
  return value.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;").replace(/'/g, "&apos;");
}
