/**
 * The checks `npm run preflight -- --stage <name>` runs before `sst deploy`: what the Pulumi mocks
 * cannot see. Each check answers ok, a problem with its fix, or "skipped" with why. The offline
 * checks (the stage's name and settings, the deploying shell's variables, the concurrency the stage
 * reserves) need nothing but this repository; the machine checks look for Docker and arm64
 * emulation; the account checks (the Lambda concurrency limit, the stage's secrets) need AWS
 * credentials and are skipped, saying so, without them.
 *
 * The outside world comes in through `PreflightProbes`, so the checks themselves are tested
 * (stacks/test/preflight.test.ts) and the script (scripts/preflight.ts) only wires the real probes.
 * No SST globals: importable anywhere.
 */
import { requiredAccountConcurrency, stageReservations, totalReservedConcurrency, UNRESERVED_MINIMUM } from "./concurrency.js";
import { OPERATOR_SETTINGS } from "./operator-settings.js";
import { SECRET_DESCRIPTIONS, type SecretName } from "./secrets.js";
import { MAX_STAGE_LENGTH, resolveStageConfig, StageConfigError } from "./stage-config.js";

export type CheckOutcome = { status: "ok"; detail: string } | { status: "problem"; problem: string; fix: string } | { status: "skipped"; why: string };

export interface CheckResult {
  check: string;
  outcome: CheckOutcome;
}

export interface DockerFacts {
  /** `docker info` answered: a daemon is running. */
  running: boolean;
  /** `docker buildx version` answered. */
  buildx: boolean;
}

export interface PreflightProbes {
  docker(): Promise<DockerFacts | null>;
  /** Whether the kernel runs linux/arm64 binaries: natively, or through a QEMU binfmt handler. */
  arm64(): Promise<{ native: boolean; binfmt: boolean }>;
  /** Whether AWS credentials are configured in this shell (without them the account checks are skipped). */
  awsCredentials(): Promise<boolean>;
  /** The account's Lambda concurrent executions limit in the deploy region. */
  lambdaConcurrencyLimit(): Promise<number>;
  /** The names of the secrets set for `stage` (`sst secret list`). */
  secretNames(stage: string): Promise<string[]>;
}

const ok = (detail: string): CheckOutcome => ({ status: "ok", detail });
const problem = (text: string, fix: string): CheckOutcome => ({ status: "problem", problem: text, fix });
const skipped = (why: string): CheckOutcome => ({ status: "skipped", why });

/** Runs every check for `stage` with `env` as the deploying shell's environment. */
export async function runPreflight(stage: string, env: Readonly<Record<string, string | undefined>>, probes: PreflightProbes): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  const add = (check: string, outcome: CheckOutcome) => results.push({ check, outcome });

  // The stage's name and configuration (stacks/stage-config.ts with the FITKIT_* settings).
  if (!/^[a-z][a-z0-9-]*$/.test(stage) || stage.length > MAX_STAGE_LENGTH) {
    add(
      "stage name",
      problem(
        `"${stage}" is not a stage name that keeps every physical name within its limit`,
        `use lower-case letters, digits and hyphens, starting with a letter, at most ${MAX_STAGE_LENGTH} characters`,
      ),
    );
  } else add("stage name", ok(`${stage} (${stage.length} of at most ${MAX_STAGE_LENGTH} characters)`));

  try {
    const config = resolveStageConfig(stage, undefined, env);
    add(
      "stage settings",
      ok(
        `R2 jurisdiction ${config.r2Jurisdiction}; ${config.alarmEmails.length} alarm address(es); public media on ${config.publicMediaDomain?.domain ?? "r2.dev"}`,
      ),
    );
  } catch (error) {
    if (!(error instanceof StageConfigError)) throw error;
    const lines = error.message.split("\n").filter((line) => line.startsWith("  - "));
    for (const line of lines.length > 0 ? lines : [error.message]) {
      const text = line.replace(/^ {2}- /, "");
      add("stage settings", problem(text, fixFor(text)));
    }
  }

  for (const [name, fix] of [
    ["CLOUDFLARE_API_TOKEN", "export a Cloudflare API token with Workers R2 Storage Edit and Account API Tokens Write on the account (docs/deploy.md)"],
    ["CLOUDFLARE_DEFAULT_ACCOUNT_ID", "export the Cloudflare account id (the same value as the R2AccountId secret)"],
  ] as const) {
    add(name, env[name] ? ok("set") : problem(`${name} is not set`, fix));
  }

  add("reserved concurrency", ok(describeReservations()));

  // The scanner image is built for linux/arm64 during `sst deploy`.
  const docker = await probes.docker();
  if (!docker)
    add(
      "Docker",
      problem("docker is not installed (or not on PATH)", "install Docker (or Docker Desktop) with buildx; `sst deploy` builds the scanner image with it"),
    );
  else if (!docker.running) add("Docker", problem("the Docker daemon does not answer (`docker info` failed)", "start Docker, then run preflight again"));
  else if (!docker.buildx) add("Docker", problem("docker buildx is missing", "install the buildx plugin (docker-buildx-plugin)"));
  else add("Docker", ok("running, with buildx"));

  const arm64 = await probes.arm64();
  if (arm64.native) add("arm64 builds", ok("this machine is arm64"));
  else if (arm64.binfmt) add("arm64 builds", ok("QEMU's binfmt handler for aarch64 is registered"));
  else
    add(
      "arm64 builds",
      problem(
        "this machine is not arm64 and no QEMU binfmt handler for aarch64 is registered: the scanner image (linux/arm64) cannot be built",
        "docker run --privileged --rm tonistiigi/binfmt --install arm64 (or install qemu-user-static and binfmt-support), then run preflight again",
      ),
    );

  // The account checks.
  if (!(await probes.awsCredentials())) {
    const why = "no AWS credentials in this shell (AWS_PROFILE, AWS_ACCESS_KEY_ID, SSO or ~/.aws): set them and run preflight again";
    add("Lambda concurrency limit", skipped(why));
    add("secrets", skipped(why));
    return results;
  }
  try {
    const limit = await probes.lambdaConcurrencyLimit();
    const needed = requiredAccountConcurrency();
    add(
      "Lambda concurrency limit",
      limit >= needed
        ? ok(`${limit} ≥ ${needed} (${totalReservedConcurrency()} reserved + ${UNRESERVED_MINIMUM} AWS keeps unreserved)`)
        : problem(
            `the account's Lambda concurrency limit is ${limit}; the stage reserves ${totalReservedConcurrency()} and AWS keeps ${UNRESERVED_MINIMUM} unreserved, so it needs at least ${needed}`,
            `ask AWS for ${needed} or more (Service Quotas → AWS Lambda → Concurrent executions) in this region, or lower the reservations in stacks/functions.ts and SCANNER_SETTINGS for this account`,
          ),
    );
  } catch (error) {
    add(
      "Lambda concurrency limit",
      problem(`could not read the account's Lambda settings: ${(error as Error).message}`, "check the credentials and AWS_REGION"),
    );
  }
  try {
    const set = new Set(await probes.secretNames(stage));
    const missing = (Object.keys(SECRET_DESCRIPTIONS) as SecretName[]).filter((name) => !set.has(name));
    if (missing.length === 0) add("secrets", ok(`all ${Object.keys(SECRET_DESCRIPTIONS).length} set`));
    for (const name of missing)
      add("secrets", problem(`${name} is not set for ${stage}`, `npx sst secret set ${name} <value> --stage ${stage}   (${SECRET_DESCRIPTIONS[name]})`));
  } catch (error) {
    add(
      "secrets",
      problem(`could not list the stage's secrets: ${(error as Error).message}`, "check the credentials; `npx sst secret list --stage <stage>` must work"),
    );
  }
  return results;
}

function describeReservations(): string {
  const parts = Object.entries(stageReservations()).map(([name, reserved]) => `${name} ${reserved}`);
  return `${totalReservedConcurrency()} reserved (${parts.join(", ")}); the account needs a limit of at least ${requiredAccountConcurrency()}`;
}

/** A stage-config problem names its setting; the fix is how to set it. */
function fixFor(text: string): string {
  const setting = (Object.keys(OPERATOR_SETTINGS) as (keyof typeof OPERATOR_SETTINGS)[]).find((name) => text.startsWith(name));
  if (setting) return `export ${setting}=… in the deploying shell`;
  if (/appOrigins/.test(text)) return `set FITKIT_APP_ORIGINS (${OPERATOR_SETTINGS.FITKIT_APP_ORIGINS})`;
  if (/alarmEmails/.test(text)) return `set FITKIT_ALARM_EMAILS (${OPERATOR_SETTINGS.FITKIT_ALARM_EMAILS})`;
  if (/publicMediaDomain/.test(text)) return "set FITKIT_PUBLIC_MEDIA_DOMAIN and FITKIT_PUBLIC_MEDIA_ZONE_ID";
  if (/internalCallers/.test(text)) return `set FITKIT_INTERNAL_CALLERS (${OPERATOR_SETTINGS.FITKIT_INTERNAL_CALLERS})`;
  return "edit the stage's entry in STAGES (stacks/stage-config.ts)";
}

/**
 * The secret names in the output of `sst secret list`: SST's CmdSecretList (cmd/sst/secret.go)
 * prints a `# <app>/<stage>` header and one `Name=value` line per secret, and fails with
 * "No secrets found" when there are none — then the list is empty, not unknown.
 */
export function parseSecretList(output: { status: number | null; stdout: string; stderr: string }): string[] {
  if (output.status !== 0) {
    if (/No secrets found/.test(output.stdout + output.stderr)) return [];
    throw new Error(output.stderr.trim().split("\n").at(-1) || "sst secret list failed");
  }
  return output.stdout.split("\n").flatMap((line) => /^([A-Z][A-Za-z0-9]*)=/.exec(line.trim())?.[1] ?? []);
}

/** The report as printed: one line per check, problems with their fix; exit code 1 when any problem. */
export function formatReport(stage: string, results: readonly CheckResult[]): { text: string; exitCode: 0 | 1 } {
  const lines = [`preflight for stage "${stage}"`];
  for (const { check, outcome } of results) {
    if (outcome.status === "ok") lines.push(`  ok       ${check}: ${outcome.detail}`);
    else if (outcome.status === "skipped") lines.push(`  skipped  ${check}: ${outcome.why}`);
    else lines.push(`  PROBLEM  ${check}: ${outcome.problem}`, `           fix: ${outcome.fix}`);
  }
  const problems = results.filter((result) => result.outcome.status === "problem").length;
  lines.push(problems === 0 ? "no problems found" : `${problems} problem(s): fix them before \`sst deploy\``);
  return { text: lines.join("\n"), exitCode: problems === 0 ? 0 : 1 };
}
