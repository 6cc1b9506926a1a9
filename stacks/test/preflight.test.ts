/**
 * `npm run preflight`'s checks with stand-in probes for the machine and the account (the offline
 * checks are real: the stage config, the operator settings, the reservations of the function
 * table), and the script itself run as CI runs it — no AWS credentials — where the account checks
 * are skipped with a note.
 */
import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { requiredAccountConcurrency } from "../concurrency.js";
import { type CheckResult, formatReport, type PreflightProbes, parseSecretList, runPreflight } from "../preflight.js";
import { SECRET_DESCRIPTIONS } from "../secrets.js";
import { REPO_ROOT } from "./harness/synthesize.js";

const PRODUCTION_ENV = {
  FITKIT_APP_ORIGINS: "https://app.fitkit.example",
  FITKIT_PUBLIC_MEDIA_DOMAIN: "media.fitkit.example",
  FITKIT_PUBLIC_MEDIA_ZONE_ID: "0123456789abcdef0123456789abcdef",
  FITKIT_ALARM_EMAILS: "oncall@fitkit.example",
  FITKIT_R2_JURISDICTION: "eu",
  CLOUDFLARE_API_TOKEN: "cf-token",
  CLOUDFLARE_DEFAULT_ACCOUNT_ID: "0123456789abcdef0123456789abcdef",
};

function probes(overrides: Partial<PreflightProbes> = {}): PreflightProbes {
  return {
    docker: async () => ({ running: true, buildx: true }),
    arm64: async () => ({ native: false, binfmt: true }),
    awsCredentials: async () => true,
    lambdaConcurrencyLimit: async () => 1000,
    secretNames: async () => Object.keys(SECRET_DESCRIPTIONS),
    ...overrides,
  };
}

const problems = (results: CheckResult[]) => results.flatMap((r) => (r.outcome.status === "problem" ? [{ check: r.check, ...r.outcome }] : []));

describe("preflight", () => {
  it("passes a production stage with every setting, secret, Docker, arm64 emulation and enough concurrency", async () => {
    const results = await runPreflight("production", PRODUCTION_ENV, probes());
    expect(problems(results)).toEqual([]);
    expect(formatReport("production", results).exitCode).toBe(0);
  });

  it("names each missing operator setting of production with how to set it, alarm e-mails included", async () => {
    const { FITKIT_ALARM_EMAILS: _, FITKIT_R2_JURISDICTION: __, ...rest } = PRODUCTION_ENV;
    const found = problems(await runPreflight("production", rest, probes()));
    expect(found.map((p) => p.fix)).toEqual(["export FITKIT_ALARM_EMAILS=… in the deploying shell", "export FITKIT_R2_JURISDICTION=… in the deploying shell"]);
  });

  it("refuses a stage name that would overflow a physical name", async () => {
    const found = problems(await runPreflight("preview-pr-123456", {}, probes()));
    expect(found[0]).toMatchObject({ check: "stage name", fix: expect.stringContaining("at most 16 characters") });
  });

  it("holds the account's Lambda concurrency limit against what the stage reserves, from the function table", async () => {
    const found = problems(await runPreflight("production", PRODUCTION_ENV, probes({ lambdaConcurrencyLimit: async () => 10 })));
    expect(found).toEqual([
      {
        check: "Lambda concurrency limit",
        status: "problem",
        problem: `the account's Lambda concurrency limit is 10; the stage reserves ${requiredAccountConcurrency() - 100} and AWS keeps 100 unreserved, so it needs at least ${requiredAccountConcurrency()}`,
        fix: expect.stringContaining("Service Quotas → AWS Lambda → Concurrent executions"),
      },
    ]);
  });

  it("names each secret that is not set, with the command that sets it", async () => {
    const found = problems(await runPreflight("production", PRODUCTION_ENV, probes({ secretNames: async () => ["R2AccountId", "ClerkJwtKey"] })));
    expect(found.map((p) => p.fix.split("   ")[0])).toEqual([
      "npx sst secret set UpstashRedisRestUrl <value> --stage production",
      "npx sst secret set UpstashRedisRestToken <value> --stage production",
      "npx sst secret set ClerkAuthorizedParties <value> --stage production",
    ]);
  });

  it("reports a machine that cannot build the arm64 scanner image: no Docker daemon, or neither arm64 nor QEMU", async () => {
    const found = problems(
      await runPreflight("dev", {}, probes({ docker: async () => ({ running: false, buildx: true }), arm64: async () => ({ native: false, binfmt: false }) })),
    );
    expect(found.filter((p) => p.check === "Docker" || p.check === "arm64 builds").map((p) => [p.check, p.fix.split(",")[0]])).toEqual([
      ["Docker", "start Docker"],
      ["arm64 builds", "docker run --privileged --rm tonistiigi/binfmt --install arm64 (or install qemu-user-static and binfmt-support)"],
    ]);
  });

  it("reads secret names from `sst secret list` as SST prints them (cmd/sst/secret.go: a header, then Name=value)", () => {
    const stdout = "# fitkit-uploads/production\nR2AccountId=0123\nClerkJwtKey=-----BEGIN PUBLIC KEY-----\nab=c\n";
    expect(parseSecretList({ status: 0, stdout, stderr: "" })).toEqual(["R2AccountId", "ClerkJwtKey"]);
    expect(parseSecretList({ status: 1, stdout: "", stderr: "✕  No secrets found" })).toEqual([]);
    expect(() => parseSecretList({ status: 1, stdout: "", stderr: "✕  Could not get secrets" })).toThrow("Could not get secrets");
  });

  it("skips the account checks without AWS credentials, saying so", async () => {
    const results = await runPreflight("production", PRODUCTION_ENV, probes({ awsCredentials: async () => false }));
    expect(results.filter((r) => r.outcome.status === "skipped").map((r) => r.check)).toEqual(["Lambda concurrency limit", "secrets"]);
  });

  it("runs as `npm run preflight` without credentials: offline problems with their fix, account checks skipped, exit 1", () => {
    const env: Record<string, string> = { PATH: process.env.PATH ?? "", HOME: "/nonexistent-home" };
    const out = spawnSync("npx", ["tsx", "scripts/preflight.ts", "--stage", "production"], { cwd: REPO_ROOT, env, encoding: "utf8", timeout: 120_000 });
    expect(out.status).toBe(1);
    expect(out.stdout).toContain('preflight for stage "production"');
    expect(out.stdout).toContain("PROBLEM  stage settings: FITKIT_ALARM_EMAILS is required for this stage");
    expect(out.stdout).toContain("fix: export FITKIT_ALARM_EMAILS=… in the deploying shell");
    expect(out.stdout).toContain("skipped  Lambda concurrency limit: no AWS credentials in this shell");
    expect(out.stdout).toContain(`the account needs a limit of at least ${requiredAccountConcurrency()}`);
  });
});
