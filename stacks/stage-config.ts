/**
 * Per-stage configuration that is not secret: browser origins, who may invoke the internal
 * functions, the API's throttling, and the upload settings. Kept in code so that every grant is reviewed like any
 * other change. Secrets (credentials, addresses) are `sst.Secret`s, see `stacks/secrets.ts`.
 *
 * This module must not touch SST globals at import time (the wiring tests import it directly).
 */
import { configProblems, configSchemas, type UploadSettings } from "@fitkit/core/config";
import { FUNCTIONS, INTERNAL_FUNCTION_KEYS, type InternalFunctionKey } from "./functions.js";
import { OPERATOR_SETTINGS, type OperatorSettingName, type OperatorValues, REQUIRED_IN_PRODUCTION, readOperatorSettings } from "./operator-settings.js";
import { ABORT_MULTIPART_AFTER_SECONDS, STAGED_MEDIA_EXPIRY_SECONDS } from "./storage.js";

/** The `UploadSettings` link (numbers). Handlers parse it with the same core schema. */
export type { UploadSettings };

/** The defaults come from core's one configuration schema, so stacks and handlers cannot drift. */
export const DEFAULT_UPLOAD_SETTINGS: Readonly<UploadSettings> = configSchemas.UploadSettings.parse({});

/** API Gateway throttling of a route: steady requests per second, and the burst above it. */
export interface RouteThrottle {
  rateLimit: number;
  burstLimit: number;
}

/**
 * The HTTP API's throttling (per stage, across all callers — API Gateway has no per-IP limit; see
 * docs/deploy.md for what to put in front). `public` applies to the routes under `/public/`, which
 * take no Clerk session, so a flood there is the cheapest attack; `default` to every other route.
 */
export interface ApiThrottle {
  default: RouteThrottle;
  public: RouteThrottle;
}

export const DEFAULT_API_THROTTLE: Readonly<ApiThrottle> = {
  default: { rateLimit: 200, burstLimit: 400 },
  public: { rateLimit: 20, burstLimit: 40 },
};

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

/**
 * Where R2 keeps a stage's buckets (data residency). `eu` buckets live in R2's EU jurisdiction,
 * are reached only through `https://<account>.eu.r2.cloudflarestorage.com`, and are named in
 * token policies as `<account>_eu_<bucket>`. Fixed when a bucket is created.
 */
export type R2Jurisdiction = "default" | "eu";

/** CloudWatch Logs retention of the functions' logs (SST's `logging.retention` values we use). */
export type LogRetention = "1 month" | "3 months" | "6 months" | "1 year";

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
  throttle: ApiThrottle;
  /** Subscribed by email to the alarms topic (each address confirms once). */
  alarmEmails: readonly string[];
  uploadSettings: UploadSettings;
  /** Every bucket of the stage, every token policy and every client endpoint use this jurisdiction. */
  r2Jurisdiction: R2Jurisdiction;
  logRetention: LogRetention;
}

export interface StageOverrides {
  appOrigins?: readonly string[];
  publicMediaDomain?: PublicMediaDomain;
  internalCallers?: readonly InternalCaller[];
  throttle?: Partial<ApiThrottle>;
  alarmEmails?: readonly string[];
  uploadSettings?: Partial<UploadSettings>;
  r2Jurisdiction?: R2Jurisdiction;
  logRetention?: LogRetention;
}

/**
 * Stages with our own settings: the values that are ours to decide and review (quotas, API
 * throttling, log retention). The operator's values (origins, the public media domain, alarm
 * e-mails, internal callers, the R2 jurisdiction) come from the `FITKIT_*` settings of the
 * deploying shell (stacks/operator-settings.ts), which `npm run preflight` checks. A stage not
 * listed here (a personal or preview stage) gets `DEVELOPMENT_DEFAULTS`.
 */
export const STAGES: Readonly<Record<string, StageOverrides>> = {
  production: {
    // The public routes take no session: tighter than the development default (20/s, burst 40).
    throttle: { default: { rateLimit: 200, burstLimit: 400 }, public: { rateLimit: 10, burstLimit: 20 } },
    // 50 GiB per organisation; every other upload setting keeps core's default.
    uploadSettings: { orgQuotaBytes: 53_687_091_200 },
    // Incidents are investigated for longer than a development stage keeps logs.
    logRetention: "3 months",
  },
};

/**
 * The one stage whose data is kept: protected resources, retained buckets, the 7-year lock on
 * records. Every other stage is disposable (`sst remove` empties and deletes it).
 */
export const PRODUCTION_STAGE = "production";

export const isProductionStage = (stage: string): boolean => stage === PRODUCTION_STAGE;

export const STAGES_REQUIRING_CONFIG: readonly string[] = [PRODUCTION_STAGE];

export const DEVELOPMENT_DEFAULTS: Readonly<Required<Omit<StageOverrides, "uploadSettings" | "throttle" | "publicMediaDomain">>> = {
  appOrigins: ["http://localhost:3000"],
  internalCallers: [],
  alarmEmails: [],
  r2Jurisdiction: "default",
  logRetention: "1 month",
};

/**
 * Longest stage name that keeps every physical name within its limit. The tightest is an R2
 * bucket: SST names it `<app>-<stage>-<component>bucket-<8 random>` within 64 characters, which
 * for `fitkit-uploads` and `ComplianceBucketBucket` is 47 + the stage's length — 64 from 17
 * characters on (SST then shortens the app name, not the total), one over R2's and our config
 * schema's 63. `stacks/test/physical-names.test.ts` recomputes this with SST's own naming.
 */
export const MAX_STAGE_LENGTH = 16;

/**
 * How far under the buckets' age rules (the `staging/` expiry, the multipart abort) a staged
 * upload's longest life — `multipartMaxLifetimeSeconds` + `stagingGraceSeconds` after its presign —
 * must end: a consume's promotion hold (15 minutes) and any clock skew fit in it many times over.
 */
export const STAGING_RULE_MARGIN_SECONDS = 24 * 60 * 60;

export class StageConfigError extends Error {
  override name = "StageConfigError";
}

/**
 * The configuration a deploy of `stage` uses: our entry in `stages`, with the operator's settings
 * from `env` (stacks/operator-settings.ts) on top. Throws a StageConfigError listing every
 * problem, each with its fix — the same check `npm run preflight` runs before a deploy.
 */
export function resolveStageConfig(
  stage: string,
  stages: Readonly<Record<string, StageOverrides>> = STAGES,
  env: Readonly<Record<string, string | undefined>> = process.env,
): StageConfig {
  if (!/^[a-z][a-z0-9-]*$/.test(stage) || stage.length > MAX_STAGE_LENGTH) {
    throw new StageConfigError(
      `Stage "${stage}" must be lower-case letters, digits and hyphens, starting with a letter, at most ${MAX_STAGE_LENGTH} characters.`,
    );
  }
  const overrides = stages[stage];
  const requiring = STAGES_REQUIRING_CONFIG.includes(stage);
  if (!overrides && requiring) {
    throw new StageConfigError(`Stage "${stage}" has no entry in STAGES (stacks/stage-config.ts); add its quotas and throttling.`);
  }
  const operator = readOperatorSettings(env);
  const value = <K extends keyof OperatorValues>(key: K): OperatorValues[K] | StageOverrides[K] => operator.values[key] ?? overrides?.[key];
  const config: StageConfig = {
    appOrigins: value("appOrigins") ?? DEVELOPMENT_DEFAULTS.appOrigins,
    publicMediaDomain: value("publicMediaDomain") ?? null,
    internalCallers: value("internalCallers") ?? DEVELOPMENT_DEFAULTS.internalCallers,
    throttle: { ...DEFAULT_API_THROTTLE, ...overrides?.throttle },
    alarmEmails: value("alarmEmails") ?? DEVELOPMENT_DEFAULTS.alarmEmails,
    uploadSettings: { ...DEFAULT_UPLOAD_SETTINGS, ...overrides?.uploadSettings },
    r2Jurisdiction: value("r2Jurisdiction") ?? DEVELOPMENT_DEFAULTS.r2Jurisdiction,
    logRetention: overrides?.logRetention ?? DEVELOPMENT_DEFAULTS.logRetention,
  };
  // A production deploy must name the operator's values itself, never fall back to development ones.
  const unset = requiring ? REQUIRED_IN_PRODUCTION.filter((name) => !settingGiven(name, operator.values, overrides)) : [];
  validateStageConfig(stage, config, [
    ...operator.problems,
    ...unset.map((name) => `${name} is required for this stage: set ${name} (${OPERATOR_SETTINGS[name]})`),
  ]);
  return config;
}

function settingGiven(name: OperatorSettingName, values: OperatorValues, overrides: StageOverrides | undefined): boolean {
  switch (name) {
    case "FITKIT_APP_ORIGINS":
      return Boolean(values.appOrigins ?? overrides?.appOrigins);
    case "FITKIT_PUBLIC_MEDIA_DOMAIN":
    case "FITKIT_PUBLIC_MEDIA_ZONE_ID":
      return Boolean(values.publicMediaDomain ?? overrides?.publicMediaDomain);
    case "FITKIT_ALARM_EMAILS":
      return (values.alarmEmails ?? overrides?.alarmEmails ?? []).length > 0;
    case "FITKIT_INTERNAL_CALLERS":
      return Boolean(values.internalCallers ?? overrides?.internalCallers);
    case "FITKIT_R2_JURISDICTION":
      return Boolean(values.r2Jurisdiction ?? overrides?.r2Jurisdiction);
  }
}

const ORIGIN = /^https?:\/\/[a-z0-9.-]+(:\d{1,5})?$/;
const HOSTNAME = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;
const ROLE_ARN = /^arn:aws(-[a-z]+)*:iam::\d{12}:role\/[\w+=,.@/-]{1,512}$/;

export function validateStageConfig(stage: string, config: StageConfig, known: readonly string[] = []): void {
  const problems: string[] = [...known];

  if (config.appOrigins.length === 0) problems.push("appOrigins is empty");
  for (const origin of config.appOrigins) {
    if (!ORIGIN.test(origin)) problems.push(`appOrigins: "${origin}" is not an origin like https://app.example.com (no path, no trailing slash, lower-case)`);
    else if (STAGES_REQUIRING_CONFIG.includes(stage) && !origin.startsWith("https://") && !problems.some((p) => p.startsWith("FITKIT_APP_ORIGINS")))
      problems.push(`appOrigins: "${origin}" must be https on this stage`);
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

  for (const email of config.alarmEmails) {
    if (!/^[^@\s]+@[^@\s]+\.[a-z]{2,}$/i.test(email)) problems.push(`alarmEmails: "${email}" is not an email address`);
  }

  for (const kind of ["default", "public"] as const) {
    const { rateLimit, burstLimit } = config.throttle[kind];
    if (!(Number.isFinite(rateLimit) && rateLimit > 0)) problems.push(`throttle.${kind}.rateLimit: must be > 0 requests per second`);
    if (!(Number.isInteger(burstLimit) && burstLimit >= 1)) problems.push(`throttle.${kind}.burstLimit: must be a whole number ≥ 1`);
  }
  if (config.throttle.public.rateLimit > config.throttle.default.rateLimit || config.throttle.public.burstLimit > config.throttle.default.burstLimit) {
    problems.push("throttle.public: must not be looser than throttle.default (the public routes take no session)");
  }
  if (config.publicMediaDomain) {
    const { domain, zoneId } = config.publicMediaDomain;
    if (!HOSTNAME.test(domain)) problems.push(`publicMediaDomain.domain: "${domain}" is not a lower-case host name like media.example.com`);
    if (!/^[0-9a-f]{32}$/.test(zoneId)) problems.push(`publicMediaDomain.zoneId: "${zoneId}" is not a Cloudflare zone id (32 hex digits)`);
  } else if (STAGES_REQUIRING_CONFIG.includes(stage) && !problems.some((problem) => problem.startsWith("FITKIT_PUBLIC_MEDIA_DOMAIN"))) {
    problems.push("publicMediaDomain is required (the r2.dev domain is rate-limited and for development only)");
  }

  // The rules of core's one config schema, which the handlers parse the linked values with.
  const settingProblems = configProblems("UploadSettings", config.uploadSettings, "uploadSettings");
  problems.push(...settingProblems, ...(settingProblems.length === 0 ? stagingRuleProblems(config.uploadSettings) : []));

  if (problems.length > 0) {
    throw new StageConfigError(`Invalid configuration for stage "${stage}":\n  - ${problems.join("\n  - ")}`);
  }
}

/**
 * The buckets' age rules delete what is older than a fixed age (stacks/storage.ts), whatever Redis
 * says: a stage whose multipart uploads may stay staged longer would lose uploads still in flight.
 * Raising `multipartMaxLifetimeSeconds` past the rules therefore means raising the rules too.
 */
function stagingRuleProblems(settings: UploadSettings): string[] {
  const { multipartMaxLifetimeSeconds: lifetime, stagingGraceSeconds: grace } = settings;
  const longest = lifetime + grace;
  const rules = [
    ["STAGED_MEDIA_EXPIRY_SECONDS", STAGED_MEDIA_EXPIRY_SECONDS, "the staging/ expiry rule would delete a staged upload still in flight"],
    ["ABORT_MULTIPART_AFTER_SECONDS", ABORT_MULTIPART_AFTER_SECONDS, "the multipart abort rule would abort an upload still sending parts"],
  ] as const;
  return rules.flatMap(([name, ruleSeconds, harm]) =>
    longest + STAGING_RULE_MARGIN_SECONDS <= ruleSeconds
      ? []
      : [
          `uploadSettings.multipartMaxLifetimeSeconds: ${lifetime} s + stagingGraceSeconds ${grace} s must end a day (${STAGING_RULE_MARGIN_SECONDS} s) before ${name} (${ruleSeconds} s, stacks/storage.ts), or ${harm}: lower multipartMaxLifetimeSeconds to at most ${ruleSeconds - STAGING_RULE_MARGIN_SECONDS - grace}, or raise ${name} to at least ${longest + STAGING_RULE_MARGIN_SECONDS}`,
        ],
  );
}

/** The role ARNs allowed to invoke one internal function, in config order. */
export function callersOf(config: StageConfig, fn: InternalFunctionKey): string[] {
  return config.internalCallers.filter((caller) => caller.functions === "all" || caller.functions.includes(fn)).map((caller) => caller.roleArn);
}
