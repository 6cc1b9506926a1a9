/**
 * `sst install`, offline, only when .sst/platform is missing or from another SST version.
 *
 * It writes .sst/platform (SST's component sources, their Pulumi providers and config.d.ts),
 * which the infra type-check and wiring tests need. Offline it must not fetch Pulumi or Bun and
 * needs no AWS credentials (SST_SKIP_DEPENDENCY_CHECK=1, SST_NO_BUN=1). To force a re-install, e.g.
 * after changing the providers in sst.config.ts: `rm -rf .sst/platform`.
 */
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../../", import.meta.url));
const at = (relative: string) => `${root}${relative}`;

const wanted: string = JSON.parse(readFileSync(at("node_modules/sst/package.json"), "utf8")).version;
const installed = existsSync(at(".sst/platform/version")) ? readFileSync(at(".sst/platform/version"), "utf8").trim() : undefined;

if (installed === wanted && existsSync(at(".sst/platform/config.d.ts"))) {
  console.log(`SST platform ${wanted} is installed in .sst/platform`);
  process.exit(0);
}

console.log(`Installing the SST ${wanted} platform into .sst/platform (offline, about a minute)…`);
const result = spawnSync(at("node_modules/.bin/sst"), ["install"], {
  cwd: root,
  stdio: "inherit",
  env: {
    ...process.env,
    SST_SKIP_DEPENDENCY_CHECK: "1",
    SST_NO_BUN: "1",
    SST_TELEMETRY_DISABLED: "1",
    SST_STAGE: process.env.SST_STAGE ?? "ci",
  },
});
if (result.status !== 0 || !existsSync(at(".sst/platform/config.d.ts"))) {
  console.error(`sst install failed (exit ${result.status ?? result.signal}); .sst/platform/config.d.ts is missing`);
  process.exit(1);
}
