/**
 * `npm run preflight -- --stage <name>`: the checks of stacks/preflight.ts with the real probes —
 * Docker and QEMU on this machine, the Lambda account settings and the stage's SST secrets in the
 * AWS account of the shell's credentials. Prints each check, each problem with its fix, and exits
 * 1 when there is any problem. Run it before `npx sst deploy --stage <name>` (docs/deploy.md).
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { arch, homedir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { GetAccountSettingsCommand, LambdaClient } from "@aws-sdk/client-lambda";
import { formatReport, type PreflightProbes, parseSecretList, runPreflight } from "../stacks/preflight.js";

const { values } = parseArgs({ options: { stage: { type: "string" } } });
if (!values.stage) {
  console.error("usage: npm run preflight -- --stage <name>");
  process.exit(2);
}

/** A command's exit status (null = not found or timed out), bounded in time. */
function run(command: string, args: string[], timeoutMs = 30_000): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(command, args, { encoding: "utf8", timeout: timeoutMs, maxBuffer: 4 * 1024 * 1024 });
  return { status: result.error ? null : result.status, stdout: result.stdout ?? "", stderr: result.stderr ?? "" };
}

const probes: PreflightProbes = {
  async docker() {
    if (run("docker", ["--version"], 10_000).status === null) return null;
    return { running: run("docker", ["info"]).status === 0, buildx: run("docker", ["buildx", "version"], 10_000).status === 0 };
  },
  async arm64() {
    return { native: arch() === "arm64", binfmt: existsSync("/proc/sys/fs/binfmt_misc/qemu-aarch64") };
  },
  async awsCredentials() {
    const env = process.env;
    return Boolean(
      env.AWS_ACCESS_KEY_ID ||
        env.AWS_PROFILE ||
        env.AWS_WEB_IDENTITY_TOKEN_FILE ||
        env.AWS_CONTAINER_CREDENTIALS_FULL_URI ||
        env.AWS_CONTAINER_CREDENTIALS_RELATIVE_URI ||
        existsSync(join(homedir(), ".aws", "credentials")) ||
        existsSync(join(homedir(), ".aws", "config")),
    );
  },
  async lambdaConcurrencyLimit() {
    const client = new LambdaClient({ maxAttempts: 2, requestHandler: { connectionTimeout: 5000, requestTimeout: 10_000 } });
    const settings = await client.send(new GetAccountSettingsCommand({}));
    const limit = settings.AccountLimit?.ConcurrentExecutions;
    if (limit === undefined) throw new Error("GetAccountSettings returned no ConcurrentExecutions");
    return limit;
  },
  async secretNames(stage) {
    return parseSecretList(run("npx", ["sst", "secret", "list", "--stage", stage], 120_000));
  },
};

const report = formatReport(values.stage, await runPreflight(values.stage, process.env, probes));
console.log(report.text);
process.exit(report.exitCode);
