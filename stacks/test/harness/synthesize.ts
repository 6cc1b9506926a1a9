/**
 * Runs an SST program offline: SST's real components (from .sst/platform, written by
 * `sst install`) under Pulumi's unit-test mocks — no engine, no cloud, no SST server.
 *
 * What stands in for the parts that need the outside world:
 * - Pulumi's resource monitor: `runtime.setMocks` records every resource with its inputs and
 *   answers the few provider functions the components call (region, partition, policy documents).
 * - SST's globals (`$app`, `$dev`, `$cli`, the `$util` shims, `sst`, `aws`, `cloudflare`), which
 *   the CLI normally defines when it bundles sst.config.ts.
 * - SST's local server (`rpc.call`): asset bootstrap and `Runtime.Build`. The build stub records
 *   what SST would bundle for each function — its handler, runtime and the link values that SST
 *   encrypts into that function's package — and returns an empty bundle.
 *
 * The program itself runs through SST's own `run` (platform src/auto/run.ts), as `sst deploy` does.
 * One synthesis per process: Pulumi's runtime state is global (vitest runs each file in its own fork).
 */
import { createHash } from "node:crypto";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { runtime } from "@pulumi/pulumi";

export const REPO_ROOT = fileURLToPath(new URL("../../../", import.meta.url));
export const ACCOUNT_ID = "123456789012";
export const REGION = "us-east-1";

export interface RecordedResource {
  type: string;
  name: string;
  id: string;
  custom: boolean;
  inputs: Record<string, any>;
  state: Record<string, any>;
  /** The resource options the engine would get: `protect`, and the URNs this resource waits for. */
  options: { protect: boolean; dependencies: string[] };
  /** Its place in registration order (the engine creates a resource only after its dependencies). */
  order: number;
}

/** What SST's `Runtime.Build` receives for one function (the part the tests read). */
export interface BuildRequest {
  functionID: string;
  handler: string;
  runtime: string;
  /** Link name → the properties bundled (encrypted) into this function's package. */
  links: Record<string, Record<string, unknown>>;
  /** The runtime's build settings (`nodejs.*` as SST normalised them, and the architecture). */
  properties: { install?: Record<string, string>; architecture?: string; [setting: string]: unknown };
}

export interface Synthesis {
  resources: RecordedResource[];
  builds: Map<string, BuildRequest>;
  outputs: Record<string, any>;
}

export interface SynthesizeOptions {
  stage: string;
  /** `SST_SECRET_<Name>` values, as `sst secret set` would provide them. */
  secrets: Record<string, string>;
  /**
   * The program to run in place of sst.config.ts's `run` (same globals, same SST runner).
   * Defaults to the real sst.config.ts.
   */
  program?: () => Promise<Record<string, unknown> | undefined>;
}

export async function synthesize(options: SynthesizeOptions): Promise<Synthesis> {
  const resources: RecordedResource[] = [];
  const builds = new Map<string, BuildRequest>();
  let pendingRpcCalls = 0;

  const workDir = await mkdtemp(path.join(tmpdir(), "fitkit-sst-wiring-"));
  const emptyBundle = path.join(workDir, "bundle");
  await mkdir(emptyBundle, { recursive: true });
  await writeFile(path.join(emptyBundle, "index.mjs"), "// stand-in bundle: the wiring tests build nothing\n");

  for (const [name, value] of Object.entries(options.secrets)) process.env[`SST_SECRET_${name}`] = value;
  // Read by SST's Cloudflare components at import time.
  process.env.CLOUDFLARE_DEFAULT_ACCOUNT_ID ??= "cloudflare-default-account";

  // `$config` must exist before sst.config.ts is imported.
  // @ts-expect-error -- SST's shim is plain JavaScript without declarations; its exports are the `$` globals.
  const shim: Record<string, unknown> = await import("../../../.sst/platform/src/shim/run.js");
  Object.assign(globalThis, shim);
  const config = (await import("../../../sst.config.ts")).default;
  const app = await config.app({ stage: options.stage });

  Object.assign(globalThis, {
    $app: {
      name: app.name,
      stage: options.stage,
      removal: app.removal ?? "retain",
      providers: app.providers,
      protect: app.protect ?? false,
    },
    $dev: false,
    $cli: {
      command: "deploy",
      rpc: "",
      paths: { home: workDir, root: REPO_ROOT, work: workDir, platform: path.join(REPO_ROOT, ".sst/platform") },
      state: { version: {} },
    },
  });

  const { rpc } = await import("../../../.sst/platform/src/components/rpc/rpc.ts");
  Object.assign(rpc, {
    async call(method: string, args: any): Promise<unknown> {
      pendingRpcCalls++;
      try {
        switch (method) {
          case "Provider.Aws.Bootstrap":
            return {
              asset: "sst-asset-bucket",
              assetEcrRegistryId: ACCOUNT_ID,
              assetEcrUrl: "",
              state: "sst-state-bucket",
              appsyncHttp: "",
              appsyncRealtime: "",
            };
          case "Runtime.Build":
            builds.set(args.functionID, {
              functionID: args.functionID,
              handler: args.handler,
              runtime: args.runtime,
              links: args.links,
              properties: args.properties ?? {},
            });
            return { handler: args.handler, out: emptyBundle, errors: [], sourcemaps: [] };
          default:
            throw new Error(`The wiring harness does not stand in for SST rpc "${method}"`);
        }
      } finally {
        pendingRpcCalls--;
      }
    },
  });

  Object.assign(globalThis, {
    sst: await import("../../../.sst/platform/src/components/index.ts"),
    aws: await import("../../../.sst/platform/node_modules/@pulumi/aws/index.js"),
    cloudflare: await import("../../../.sst/platform/node_modules/@pulumi/cloudflare/index.js"),
  });

  // Pulumi's mocks hand newResource only type, name and inputs; the options travel in the request,
  // which the mock monitor reads just before calling newResource (synchronously).
  // @ts-expect-error -- Pulumi's mock monitor module has no declarations for this path.
  const { MockMonitor } = await import("@pulumi/pulumi/runtime/mocks.js");
  let pendingOptions: RecordedResource["options"] = { protect: false, dependencies: [] };
  const registerResource = MockMonitor.prototype.registerResource;
  MockMonitor.prototype.registerResource = function (this: unknown, request: any, callback: unknown) {
    pendingOptions = { protect: request.getProtect() ?? false, dependencies: request.getDependenciesList() ?? [] };
    return registerResource.call(this, request, callback);
  };

  await runtime.setMocks(
    {
      newResource(args) {
        const id = `${args.name}-id`;
        const inputs = reveal(args.inputs);
        const state = { ...args.inputs, ...computedOutputs(args.type, args.name, inputs) };
        const options = pendingOptions;
        pendingOptions = { protect: false, dependencies: [] };
        resources.push({ type: args.type, name: args.name, id, custom: args.custom ?? false, inputs, state: reveal(state), options, order: resources.length });
        return { id, state };
      },
      call(args) {
        return providerFunction(args.token, args.inputs);
      },
    },
    app.name,
    options.stage,
    false,
  );

  const { run } = await import("../../../.sst/platform/src/auto/run.ts");
  const program = options.program ?? config.run;
  const outputs = (await runtime.runInPulumiStack(() => run(async () => (await program()) ?? {}))) ?? {};

  // Some resources are created inside applies that resolve after the stack outputs; wait until
  // registrations stop.
  await settle(
    () => resources.length,
    () => pendingRpcCalls,
  );
  await rm(workDir, { recursive: true, force: true });
  return { resources, builds, outputs };
}

/** The plain value of every secret in a mocked input (Pulumi hands secrets to mocks wrapped). */
function reveal(value: any): any {
  if (Array.isArray(value)) return value.map(reveal);
  if (value === null || typeof value !== "object") return value;
  if (value[runtime.specialSigKey] === runtime.specialSecretSig) return reveal(value.value);
  return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, reveal(inner)]));
}

function computedOutputs(type: string, name: string, inputs: Record<string, any>): Record<string, unknown> {
  switch (type) {
    case "aws:lambda/function:Function":
      return { arn: `arn:aws:lambda:${REGION}:${ACCOUNT_ID}:function:${inputs.name}`, invokeArn: `invoke:${inputs.name}` };
    case "aws:iam/role:Role":
      return { arn: `arn:aws:iam::${ACCOUNT_ID}:role/${inputs.name ?? name}` };
    case "aws:apigatewayv2/api:Api":
      return { executionArn: `arn:aws:execute-api:${REGION}:${ACCOUNT_ID}:${name}`, apiEndpoint: `https://${name}.execute-api.${REGION}.amazonaws.com` };
    case "docker-build:index:Image":
      return dockerBuildImageOutputs(name, inputs);
    case "aws:ecr/repository:Repository":
      return {
        arn: `arn:aws:ecr:${REGION}:${ACCOUNT_ID}:repository/${inputs.name}`,
        registryId: ACCOUNT_ID,
        repositoryUrl: `${ACCOUNT_ID}.dkr.ecr.${REGION}.amazonaws.com/${inputs.name}`,
      };
    case "aws:s3/bucketV2:BucketV2":
    case "aws:s3/bucket:Bucket":
      return { arn: `arn:aws:s3:::${inputs.bucket ?? name}`, bucket: inputs.bucket ?? name };
    case "aws:sns/topic:Topic":
      return { arn: `arn:aws:sns:${REGION}:${ACCOUNT_ID}:${inputs.name ?? name}` };
    // @pulumi/cloudflare 6.15.0 accountToken.d.ts: `value` is the token's secret (an output); its id is the resource id.
    case "cloudflare:index/accountToken:AccountToken":
      return { value: `cf-token-value-of-${name}` };
    case "cloudflare:index/r2ManagedDomain:R2ManagedDomain":
      return { domain: `pub-${name.toLowerCase()}.r2.dev`, bucketId: inputs.bucketName };
    case "random:index/randomBytes:RandomBytes":
      return { base64: Buffer.alloc(inputs.length ?? 32, 7).toString("base64"), hex: Buffer.alloc(inputs.length ?? 32, 7).toString("hex") };
    default:
      return inputs.arn ? {} : { arn: `arn:mock:${type}:${name}` };
  }
}

/**
 * `ref` and `digest` as @pulumi/docker-build computes them (pulumi/pulumi-docker-build,
 * provider/internal/image.go, `Image.Create` and `addDigest`): `ref` starts as the first tag; once a
 * build exported an image (here: pushed), `digest` is the manifest's sha256 and `ref` becomes
 * `<name>:<tag, default latest>@<digest>` — tag *and* digest, the shape Lambda refuses as an image URI
 * (pulumi-docker-build issue 571). Provenance is off in that provider (internal/client.go), so the
 * digest names the one-platform image manifest. The digest differs per image, so a test cannot
 * pass by matching a constant.
 */
function dockerBuildImageOutputs(name: string, inputs: Record<string, any>): Record<string, unknown> {
  const tags: string[] = inputs.tags ?? [];
  if (!inputs.push) return { ref: tags[0] ?? "", digest: "" };
  const digest = `sha256:${createHash("sha256").update(JSON.stringify({ name, inputs })).digest("hex")}`;
  const [tag] = tags;
  if (!tag) return { ref: "", digest };
  // A tag's name part ends at the last ':' after the last '/' (a registry may carry a port).
  const slash = tag.lastIndexOf("/");
  const colon = tag.lastIndexOf(":");
  const [repository, version] = colon > slash ? [tag.slice(0, colon), tag.slice(colon + 1)] : [tag, "latest"];
  return { ref: `${repository}:${version}@${digest}`, digest };
}

function providerFunction(token: string, inputs: Record<string, any>): Record<string, unknown> {
  switch (token) {
    case "aws:index/getRegion:getRegion":
      return { id: REGION, name: REGION, region: REGION };
    case "aws:index/getPartition:getPartition":
      return { id: "aws", partition: "aws", dnsSuffix: "amazonaws.com" };
    case "aws:index/getCallerIdentity:getCallerIdentity":
      return { id: ACCOUNT_ID, accountId: ACCOUNT_ID, arn: `arn:aws:iam::${ACCOUNT_ID}:user/ci`, userId: "ci" };
    case "aws:ecr/getAuthorizationToken:getAuthorizationToken":
      return {
        id: "ecr",
        userName: "AWS",
        password: "ecr-token",
        proxyEndpoint: `https://${ACCOUNT_ID}.dkr.ecr.${REGION}.amazonaws.com`,
        authorizationToken: "t",
      };
    case "aws:iam/getPolicyDocument:getPolicyDocument":
      return { id: "policy", statements: inputs.statements ?? [], json: JSON.stringify({ Version: "2012-10-17", Statement: inputs.statements ?? [] }) };
    default:
      throw new Error(`The wiring harness does not stand in for provider function "${token}"`);
  }
}

async function settle(count: () => number, pending: () => number): Promise<void> {
  const deadline = Date.now() + 30_000;
  let last = -1;
  let quietTicks = 0;
  while (quietTicks < 5) {
    if (Date.now() > deadline) throw new Error("Resources were still being registered after 30 s");
    await new Promise((resolve) => setTimeout(resolve, 20));
    const now = count();
    quietTicks = now === last && pending() === 0 ? quietTicks + 1 : 0;
    last = now;
  }
}
