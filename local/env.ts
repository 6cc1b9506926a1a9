/**
 * The local stack's variables (docs/API.md, "The local stack"), validated with the core config
 * schema and turned into the linked resources the handlers read — the same `SST_RESOURCE_<Name>`
 * path a deployed function uses. An error names the variable.
 */
import { randomBytes } from "node:crypto";
import { resolve } from "node:path";
import { type Config, ConfigError, type ConfigSection, parseConfig } from "@fitkit/core/config";

type Env = Record<string, string | undefined>;

export interface LocalEnv {
  port: number;
  s3Port: number;
  dataDir: string;
  internalApiKey: string;
  /** True when INTERNAL_API_KEY was not given (the stack prints the generated one). */
  internalApiKeyGenerated: boolean;
  /** Null = start the embedded S3 server. */
  r2: Config<"R2"> | null;
  buckets: { media: string; compliance: string; records: string; public: string };
  /** Where the public bucket is served (PUBLIC_BASE_URL); null = the stack's own `/public-media/` route. */
  publicBaseUrl: string | null;
  redis: Config<"Redis">;
  clerkJwtKey: string | null;
  /** Extra browser origins the embedded S3's CORS rule allows (APP_ORIGINS, comma-separated). */
  appOrigins: string[];
  clerkAuthorizedParties: string;
  clamd: Config<"Clamd">;
  settings: Config<"UploadSettings">;
}

function port(env: Env, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0 || value > 65_535) throw new ConfigError(`${name} must be a port number (0–65535), got "${raw}"`);
  return value;
}

/** Parses `section` from env variables named by `fields` (schema field → variable). */
function section<S extends ConfigSection>(env: Env, name: S, fields: Record<string, string>, defaults: Record<string, string> = {}): Config<S> {
  const raw = Object.fromEntries(Object.entries(fields).flatMap(([field, variable]) => (env[variable] ? [[field, env[variable]]] : [])));
  try {
    return parseConfig(name, { ...defaults, ...raw });
  } catch (error) {
    // Name the variables, not the schema fields.
    let message = (error as Error).message;
    for (const [field, variable] of Object.entries(fields)) message = message.replaceAll(`${name}.${field}`, variable);
    throw new ConfigError(message);
  }
}

export function readLocalEnv(env: Env): LocalEnv {
  const r2 = env.R2_ENDPOINT
    ? section(env, "R2", { endpoint: "R2_ENDPOINT", accessKeyId: "R2_ACCESS_KEY_ID", secretAccessKey: "R2_SECRET_ACCESS_KEY", region: "R2_REGION" })
    : null;
  const internalApiKey = env.INTERNAL_API_KEY || randomBytes(24).toString("base64url");
  return {
    port: port(env, "PORT", 3000),
    s3Port: port(env, "S3_PORT", 4569),
    dataDir: resolve(env.UPLOADS_DATA_DIR || ".local"),
    internalApiKey,
    internalApiKeyGenerated: !env.INTERNAL_API_KEY,
    r2,
    buckets: {
      media: section(env, "Bucket", { name: "R2_BUCKET_NAME" }, { name: "fitkit-media" }).name,
      compliance: section(env, "Bucket", { name: "R2_COMPLIANCE_BUCKET_NAME" }, { name: "fitkit-compliance" }).name,
      records: section(env, "Bucket", { name: "R2_RECORDS_BUCKET_NAME" }, { name: "fitkit-records" }).name,
      public: section(env, "Bucket", { name: "R2_PUBLIC_BUCKET_NAME" }, { name: "fitkit-public" }).name,
    },
    publicBaseUrl: env.PUBLIC_BASE_URL ? publicBaseUrlOf(env.PUBLIC_BASE_URL) : null,
    redis: redisOf(env),
    clerkJwtKey: env.CLERK_JWT_KEY || null,
    appOrigins: (env.APP_ORIGINS ?? "")
      .split(",")
      .map((o) => o.trim())
      .filter(Boolean),
    clerkAuthorizedParties: env.CLERK_AUTHORIZED_PARTIES ?? "",
    clamd: section(env, "Clamd", { host: "CLAMD_HOST", port: "CLAMD_PORT" }),
    settings: section(env, "UploadSettings", {
      presignTtlSeconds: "PRESIGN_TTL_SECONDS",
      stagingGraceSeconds: "STAGING_GRACE_SECONDS",
      orgQuotaBytes: "ORG_QUOTA_BYTES",
      userInFlightBytes: "USER_IN_FLIGHT_BYTES",
      presignIdempotencySeconds: "PRESIGN_IDEMPOTENCY_SECONDS",
      presignRatePerMinute: "PRESIGN_RATE_PER_MINUTE",
      publicPutRatePerMinute: "PUBLIC_PUT_RATE_PER_MINUTE",
      scanMaxBytes: "SCAN_MAX_BYTES",
      multipartThresholdBytes: "MULTIPART_THRESHOLD_BYTES",
      multipartPartBytes: "MULTIPART_PART_BYTES",
      multipartMaxLifetimeSeconds: "MULTIPART_MAX_LIFETIME_SECONDS",
      dependencyTimeoutMs: "DEPENDENCY_TIMEOUT_MS",
      orphanAuditMaxUnknownPercent: "ORPHAN_AUDIT_MAX_UNKNOWN_PERCENT",
      recordsRetentionSeconds: "RECORDS_RETENTION_SECONDS",
    }),
  };
}

function publicBaseUrlOf(raw: string): string {
  try {
    const url = new URL(raw);
    if (url.protocol === "http:" || url.protocol === "https:") return url.href;
  } catch {
    // reported below
  }
  throw new ConfigError(`PUBLIC_BASE_URL must be an http(s) URL, got "${raw}"`);
}

const REDIS_VARIABLES = { url: "REDIS_URL", restUrl: "UPSTASH_REDIS_REST_URL", restToken: "UPSTASH_REDIS_REST_TOKEN" };

/** A Redis when one is named; otherwise the in-memory store, said explicitly (the link never defaults to it). */
function redisOf(env: Env): Config<"Redis"> {
  const named = Object.values(REDIS_VARIABLES).some((variable) => env[variable]);
  return named ? section(env, "Redis", REDIS_VARIABLES) : parseConfig("Redis", { kind: "memory" });
}

/** The linked resources, as the `SST_RESOURCE_<Name>` variables a deployed function receives. */
export function resourceVariables(resources: Record<string, unknown>): Record<string, string> {
  return Object.fromEntries(Object.entries(resources).map(([name, value]) => [`SST_RESOURCE_${name}`, JSON.stringify(value)]));
}
