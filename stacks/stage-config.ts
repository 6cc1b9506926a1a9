/**
 * Per-stage configuration that is not secret: browser origins, who may invoke the internal
 * functions, and the upload settings. Kept in code so that every grant is reviewed like any
 * other change. Secrets (credentials, addresses) are `sst.Secret`s, see `stacks/secrets.ts`.
 *
 * This module must not touch SST globals at import time (the wiring tests import it directly).
 */
import { configProblems, configSchemas, type UploadSettings } from "@fitkit/core/config";
import { FUNCTIONS, INTERNAL_FUNCTION_KEYS, type InternalFunctionKey } from "./functions.js";

/** The `UploadSettings` link (numbers). Handlers parse it with the same core schema. */
export type { UploadSettings };

/** The defaults come from core's one configuration schema, so stacks and handlers cannot drift. */
export const DEFAULT_UPLOAD_SETTINGS: Readonly<UploadSettings> = configSchemas.UploadSettings.parse({});

/** One service allowed to invoke internal functions with Lambda Invoke. */
export interface InternalCaller {
  /** The IAM role the calling service runs as: `arn:aws:iam::<account>:role/<name>`. */
  roleArn: string;
  /** The internal functions it may invoke, or "all" of them. */
  functions: readonly InternalFunctionKey[] | "all";
}

/** The custom domain the public bucket (published renditions) is served at, in a Cloudflare zone of the account. */
export interface PublicMediaDomain {
  /** e.g. `media.fitkit.example` */
  domain: string;
  /** The Cloudflare zone id (32 hex digits) the domain belongs to. */
  zoneId: string;
}

export interface StageConfig {
  /** Browser origins allowed by the buckets' and the API's CORS, e.g. `https://app.example.com`. */
  appOrigins: readonly string[];
  /**
   * Where published renditions are served. Null (development stages) = R2's managed `r2.dev`
   * domain, rate-limited and meant for development; the stages in STAGES_REQUIRING_CONFIG must set one.
   */
  publicMediaDomain: PublicMediaDomain | null;
  /** Nobody else is granted invoke on the internal functions by this app. */
  internalCallers: readonly InternalCaller[];
  uploadSettings: UploadSettings;
}

export interface StageOverrides {
  appOrigins?: readonly string[];
  publicMediaDomain?: PublicMediaDomain;
  internalCallers?: readonly InternalCaller[];
  uploadSettings?: Partial<UploadSettings>;
}

/**
 * Stages with their own settings. A stage not listed here (a personal or preview stage) gets
 * `DEVELOPMENT_DEFAULTS`; the stages in `STAGES_REQUIRING_CONFIG` must be listed.
 *
 * Example:
 *   production: {
 *     appOrigins: ["https://app.fitkit.example"],
 *     publicMediaDomain: { domain: "media.fitkit.example", zoneId: "0123456789abcdef0123456789abcdef" },
 *     internalCallers: [
 *       { roleArn: "arn:aws:iam::111111111111:role/fitkit-records-api", functions: ["consume", "release", "issue-signature-token"] },
 *       { roleArn: "arn:aws:iam::111111111111:role/fitkit-admin-api", functions: ["usage", "set-quota"] },
 *     ],
 *     uploadSettings: { orgQuotaBytes: 53_687_091_200 },
 *   },
 */
export const STAGES: Readonly<Record<string, StageOverrides>> = {};

export const STAGES_REQUIRING_CONFIG: readonly string[] = ["production"];

export const DEVELOPMENT_DEFAULTS: Readonly<Required<Omit<StageOverrides, "uploadSettings" | "publicMediaDomain">>> = {
  appOrigins: ["http://localhost:3000"],
  internalCallers: [],
};

/** Longest stage name that keeps every physical name (function, bucket) within AWS/R2 limits. */
export const MAX_STAGE_LENGTH = 22;

export class StageConfigError extends Error {
  override name = "StageConfigError";
}

export function resolveStageConfig(stage: string, stages: Readonly<Record<string, StageOverrides>> = STAGES): StageConfig {
  if (!/^[a-z][a-z0-9-]*$/.test(stage) || stage.length > MAX_STAGE_LENGTH) {
    throw new StageConfigError(
      `Stage "${stage}" must be lower-case letters, digits and hyphens, starting with a letter, at most ${MAX_STAGE_LENGTH} characters.`,
    );
  }
  const overrides = stages[stage];
  if (!overrides && STAGES_REQUIRING_CONFIG.includes(stage)) {
    throw new StageConfigError(`Stage "${stage}" has no entry in STAGES (stacks/stage-config.ts); add its app origins and internal callers.`);
  }
  const config: StageConfig = {
    appOrigins: overrides?.appOrigins ?? DEVELOPMENT_DEFAULTS.appOrigins,
    publicMediaDomain: overrides?.publicMediaDomain ?? null,
    internalCallers: overrides?.internalCallers ?? DEVELOPMENT_DEFAULTS.internalCallers,
    uploadSettings: { ...DEFAULT_UPLOAD_SETTINGS, ...overrides?.uploadSettings },
  };
  validateStageConfig(stage, config);
  return config;
}

const ORIGIN = /^https?:\/\/[a-z0-9.-]+(:\d{1,5})?$/;
const HOSTNAME = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;
const ROLE_ARN = /^arn:aws(-[a-z]+)*:iam::\d{12}:role\/[\w+=,.@/-]{1,512}$/;

export function validateStageConfig(stage: string, config: StageConfig): void {
  const problems: string[] = [];

  if (config.appOrigins.length === 0) problems.push("appOrigins is empty");
  for (const origin of config.appOrigins) {
    if (!ORIGIN.test(origin)) problems.push(`appOrigins: "${origin}" is not an origin like https://app.example.com (no path, no trailing slash, lower-case)`);
  }

  const seenRoles = new Set<string>();
  for (const caller of config.internalCallers) {
    if (!ROLE_ARN.test(caller.roleArn)) problems.push(`internalCallers: "${caller.roleArn}" is not an IAM role ARN`);
    if (seenRoles.has(caller.roleArn)) problems.push(`internalCallers: "${caller.roleArn}" is listed twice`);
    seenRoles.add(caller.roleArn);
    if (caller.functions !== "all") {
      if (caller.functions.length === 0) problems.push(`internalCallers: "${caller.roleArn}" lists no functions`);
      for (const fn of caller.functions) {
        if (!(INTERNAL_FUNCTION_KEYS as readonly string[]).includes(fn)) {
          const why = fn in FUNCTIONS ? "has an HTTP route and cannot be granted" : "is not a function";
          problems.push(`internalCallers: "${fn}" ${why} (internal: ${INTERNAL_FUNCTION_KEYS.join(", ")})`);
        }
      }
    }
  }

  if (config.publicMediaDomain) {
    const { domain, zoneId } = config.publicMediaDomain;
    if (!HOSTNAME.test(domain)) problems.push(`publicMediaDomain.domain: "${domain}" is not a lower-case host name like media.example.com`);
    if (!/^[0-9a-f]{32}$/.test(zoneId)) problems.push(`publicMediaDomain.zoneId: "${zoneId}" is not a Cloudflare zone id (32 hex digits)`);
  } else if (STAGES_REQUIRING_CONFIG.includes(stage)) {
    problems.push("publicMediaDomain is required (the r2.dev domain is rate-limited and for development only)");
  }

  // The rules of core's one config schema, which the handlers parse the linked values with.
  problems.push(...configProblems("UploadSettings", config.uploadSettings, "uploadSettings"));

  if (problems.length > 0) {
    throw new StageConfigError(`Invalid configuration for stage "${stage}":\n  - ${problems.join("\n  - ")}`);
  }
}

/** The role ARNs allowed to invoke one internal function, in config order. */
export function callersOf(config: StageConfig, fn: InternalFunctionKey): string[] {
  return config.internalCallers.filter((caller) => caller.functions === "all" || caller.functions.includes(fn)).map((caller) => caller.roleArn);
}
