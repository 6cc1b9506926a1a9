/**
 * The operator's own values for a stage — what differs between one company's deployment and
 * another's and is not ours to review in code: the app's origins, the custom domain of published
 * media, who is paged, which other services may invoke the internal functions, and where R2 keeps
 * the data. Read from the deploying shell's environment (`FITKIT_<NAME>`), the same way by
 * `sst deploy` (sst.config.ts) and by `npm run preflight`, which checks them before a deploy.
 *
 * Plain data and parsing only: no SST globals (the wiring tests and the preflight import it).
 */
import type { InternalCaller, PublicMediaDomain, R2Jurisdiction } from "./stage-config.js";

/** Name → what to set (docs/deploy.md lists the same; `npm run preflight` prints these as fixes). */
export const OPERATOR_SETTINGS = {
  FITKIT_APP_ORIGINS: "comma-separated browser origins of your app (CORS of the API and the buckets), e.g. https://app.fitkit.example",
  FITKIT_PUBLIC_MEDIA_DOMAIN: "host name in a Cloudflare zone of the account that serves published renditions, e.g. media.fitkit.example",
  FITKIT_PUBLIC_MEDIA_ZONE_ID: "the Cloudflare zone id (32 hex digits) of FITKIT_PUBLIC_MEDIA_DOMAIN",
  FITKIT_ALARM_EMAILS: "comma-separated e-mail addresses subscribed to the alarms topic (each confirms once)",
  FITKIT_INTERNAL_CALLERS:
    'JSON list of the roles that may invoke internal functions, e.g. [{"roleArn":"arn:aws:iam::111111111111:role/records-api","functions":["consume"]}]',
  FITKIT_R2_JURISDICTION: '"default" or "eu": the R2 jurisdiction every bucket of the stage is created in (fixed at creation)',
} as const;

export type OperatorSettingName = keyof typeof OPERATOR_SETTINGS;

/** The operator settings every stage in STAGES_REQUIRING_CONFIG must have. */
export const REQUIRED_IN_PRODUCTION: readonly OperatorSettingName[] = [
  "FITKIT_APP_ORIGINS",
  "FITKIT_PUBLIC_MEDIA_DOMAIN",
  "FITKIT_PUBLIC_MEDIA_ZONE_ID",
  "FITKIT_ALARM_EMAILS",
  "FITKIT_R2_JURISDICTION",
];

export const R2_JURISDICTIONS = ["default", "eu"] as const satisfies readonly R2Jurisdiction[];

export interface OperatorValues {
  appOrigins?: readonly string[];
  publicMediaDomain?: PublicMediaDomain;
  alarmEmails?: readonly string[];
  internalCallers?: readonly InternalCaller[];
  r2Jurisdiction?: R2Jurisdiction;
}

/**
 * The operator values set in `env`, and a problem (with its fix) for each that cannot be read.
 * Unset or empty variables are absent; whether a stage needs them is the stage config's rule.
 */
export function readOperatorSettings(env: Readonly<Record<string, string | undefined>>): { values: OperatorValues; problems: string[] } {
  const problems: string[] = [];
  const values: OperatorValues = {};
  const get = (name: OperatorSettingName): string | undefined => {
    const value = env[name]?.trim();
    return value ? value : undefined;
  };
  const list = (value: string) =>
    value
      .split(",")
      .map((item) => item.trim())
      .filter(Boolean);

  const origins = get("FITKIT_APP_ORIGINS");
  if (origins) values.appOrigins = list(origins);

  const domain = get("FITKIT_PUBLIC_MEDIA_DOMAIN");
  const zoneId = get("FITKIT_PUBLIC_MEDIA_ZONE_ID");
  if (domain && zoneId) values.publicMediaDomain = { domain, zoneId };
  else if (domain || zoneId) {
    const missing: OperatorSettingName = domain ? "FITKIT_PUBLIC_MEDIA_ZONE_ID" : "FITKIT_PUBLIC_MEDIA_DOMAIN";
    problems.push(`${missing} is not set but its pair is: set ${missing} (${OPERATOR_SETTINGS[missing]})`);
  }

  const emails = get("FITKIT_ALARM_EMAILS");
  if (emails) values.alarmEmails = list(emails);

  const callers = get("FITKIT_INTERNAL_CALLERS");
  if (callers) {
    const parsed = parseCallers(callers);
    if (parsed) values.internalCallers = parsed;
    else
      problems.push(
        `FITKIT_INTERNAL_CALLERS is not a JSON list of {"roleArn": string, "functions": string[] | "all"}: set it as ${OPERATOR_SETTINGS.FITKIT_INTERNAL_CALLERS}`,
      );
  }

  const jurisdiction = get("FITKIT_R2_JURISDICTION");
  if (jurisdiction) {
    if ((R2_JURISDICTIONS as readonly string[]).includes(jurisdiction)) values.r2Jurisdiction = jurisdiction as R2Jurisdiction;
    else problems.push(`FITKIT_R2_JURISDICTION: "${jurisdiction}" is not one of ${R2_JURISDICTIONS.join(", ")}`);
  }
  return { values, problems };
}

function parseCallers(text: string): InternalCaller[] | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return null;
  }
  if (!Array.isArray(parsed)) return null;
  const callers: InternalCaller[] = [];
  for (const item of parsed) {
    if (typeof item !== "object" || item === null) return null;
    const { roleArn, functions } = item as Record<string, unknown>;
    if (typeof roleArn !== "string") return null;
    if (functions !== "all" && !(Array.isArray(functions) && functions.every((fn) => typeof fn === "string"))) return null;
    callers.push({ roleArn, functions: functions as InternalCaller["functions"] });
  }
  return callers;
}
