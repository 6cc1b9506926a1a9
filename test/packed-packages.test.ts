/**
 * The packages as another repository gets them: `npm pack` in client/ and sdk/ (which builds them),
 * the tarballs installed into fresh projects under the OS temp directory — the examples/ apps,
 * with only the npm registry (and its local cache) for third-party packages and no way to reach
 * this repository's sources. Then, against the local stack as `npm start` runs it:
 * - the plain Node ESM script (examples/node) type-checks against the bundled declarations,
 *   uploads with the client and links the upload with the SDK's consume;
 * - the Vite + React app (examples/react) type-checks, builds, and in Chromium, from its own
 *   origin, uploads through `useUpload` an upload the service then links.
 */
import { execFile } from "node:child_process";
import { cp, readdir, readFile, writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { promisify } from "node:util";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeTempDir, removeTempDir } from "../support/child-processes.js";
import { type LocalStack, startLocalStack } from "../support/local-stack.js";
import { closeChromium, gradientPng, launchChromium, serveDirectory } from "./support/browser.js";
import { uniqueId } from "./support/fixtures.js";

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, "..");

/**
 * The environment of a shell outside this repository: none of the npm variables vitest inherits
 * when run by `npm test` (they would point npm at this project), no NODE_PATH.
 */
function outsideEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^(npm_|INIT_CWD$|NODE_PATH$|NODE_OPTIONS$|VITE)/i.test(name)));
  return { ...env, ...extra };
}

/** Runs `command` in `cwd`, bounded; the error carries its output. */
async function sh(cwd: string, command: string, args: string[], env: NodeJS.ProcessEnv = outsideEnv(), timeoutMs = 120_000): Promise<string> {
  try {
    const { stdout } = await run(command, args, { cwd, env, timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 });
    return stdout;
  } catch (error) {
    const failed = error as { stdout?: string; stderr?: string; message: string };
    throw new Error(`${command} ${args.join(" ")} in ${cwd} failed: ${failed.message}\n${failed.stdout ?? ""}\n${failed.stderr ?? ""}`);
  }
}

/** `npm pack` in a package directory (its prepack builds it); the tarball's path. */
async function pack(dir: string, destination: string): Promise<string> {
  const out = await sh(join(ROOT, dir), "npm", ["pack", "--json", "--pack-destination", destination]);
  const [{ filename }] = JSON.parse(out.slice(out.indexOf("["))) as [{ filename: string }];
  return join(destination, filename);
}

/** An example copied out of the repository into `work`, with the tarballs installed (the rest from the registry). */
async function install(example: string, work: string, tarballs: string[]): Promise<string> {
  const project = join(work, example);
  await cp(join(ROOT, "examples", example), project, { recursive: true, filter: (path) => !/node_modules|dist/.test(path) });
  await sh(project, "npm", ["install", "--prefer-offline", "--no-audit", "--no-fund", "--loglevel=error", ...tarballs]);
  return project;
}

const TYPES_ARE_REAL = `// @ts-check
import { createUploader } from "@fitkit/uploads-client";
import { createUploadsClient, httpTransport } from "@fitkit/uploads-sdk";

const uploads = createUploadsClient({ transport: httpTransport({ baseUrl: "http://127.0.0.1:3000", internalKey: "k" }) });
// @ts-expect-error uploadIds is a list of ids
await uploads.consume({ uploadIds: "one", ownerType: "progress_photo", owner: { orgId: "org_1" } });
// @ts-expect-error not an owner type of the catalog
await uploads.consume({ uploadIds: [], ownerType: "selfie", owner: { orgId: "org_1" } });
const [url] = await createUploader({ apiBaseUrl: "", getToken: () => "t" }).signedUrls(["k"]);
// @ts-expect-error status is "ready" | "processing" | "failed"
if (url?.status === "done") console.log(url);
/** @type {number} */
// @ts-expect-error usage's used is a number
const used = (await uploads.usage({ orgId: "org_1" })).used.length;
console.log(used);
`;

let work: string;
let tarballs: { client: string; sdk: string };
let nodeApp: string;
let reactApp: string;
let app: { origin: string; close(): Promise<void> };
let stack: LocalStack;
let launched: Promise<Browser> | undefined;
/** `npm run check` in the Node project (tsc over the script): its output, or its failure. */
let nodeTypeCheck: Promise<string>;

beforeAll(async () => {
  work = await makeTempDir("fitkit-packed-");
  // The app's origin must be known before the stack starts (APP_ORIGINS); it serves the build made below.
  app = await serveDirectory(join(work, "react", "dist"));
  const stackStarted = startLocalStack({ APP_ORIGINS: app.origin });
  stackStarted.catch(() => undefined);
  const [client, sdk] = await Promise.all([pack("client", work), pack("sdk", work)]);
  tarballs = { client, sdk };
  [nodeApp, reactApp, stack] = await Promise.all([install("node", work, [client, sdk]), install("react", work, [client]), stackStarted]);
  // Proof the declarations carry real types, not `any`: each misuse below must be an error tsc expects.
  await writeFile(join(nodeApp, "types-are-real.mjs"), TYPES_ARE_REAL);
  nodeTypeCheck = sh(nodeApp, "npm", ["run", "--silent", "check"]);
  nodeTypeCheck.catch(() => undefined);
  await sh(reactApp, "npm", ["run", "build"], outsideEnv({ VITE_FITKIT_API: stack.api }));
  await nodeTypeCheck.catch(() => undefined);
  launched = launchChromium();
}, 240_000);

afterAll(async () => {
  await Promise.all([closeChromium(launched), stack?.close(), app?.close()]);
  if (work) await removeTempDir(work);
});

const fileList = async (tarball: string) => (await sh(dirname(tarball), "tar", ["-tzf", tarball])).trim().split("\n").sort();

describe("the packed tarballs", () => {
  it("hold built JavaScript, declarations, a README and a changelog — no TypeScript source", async () => {
    for (const [name, entries] of [
      ["client", ["index.js", "react.js", "uppy.js"]],
      ["sdk", ["index.js"]],
    ] as const) {
      const files = await fileList(tarballs[name]);

      expect(files).toEqual(
        expect.arrayContaining(["package/package.json", "package/README.md", "package/CHANGELOG.md", ...entries.map((entry) => `package/dist/${entry}`)]),
      );
      expect(files.filter((file) => file.endsWith(".ts") && !file.endsWith(".d.ts"))).toEqual([]);
    }
  });

  it("install without this repository: no @fitkit/core, no zod, no file outside the temp project", async () => {
    const installed = JSON.parse(await readFile(join(nodeApp, "node_modules/@fitkit/uploads-sdk/package.json"), "utf8")) as Record<string, unknown>;
    const scoped = await readdir(join(nodeApp, "node_modules/@fitkit"));
    const lock = await readFile(join(nodeApp, "package-lock.json"), "utf8");

    expect(scoped.sort()).toEqual(["uploads-client", "uploads-sdk"]);
    expect(installed.dependencies).toEqual({ "@aws-sdk/client-lambda": expect.any(String) });
    expect(lock).not.toMatch(/"node_modules\/zod"|@fitkit\/core|\/work\//);
  });
});

describe("a plain Node ESM project", () => {
  it("type-checks against the bundled declarations", async () => {
    await expect(nodeTypeCheck).resolves.toBe("");
  });

  it("uploads with the client and links the upload with the SDK against the local stack", async () => {
    const who = { userId: uniqueId("user"), orgId: uniqueId("org") };
    const photo = gradientPng(64, 48);
    await writeFile(join(nodeApp, "photo.png"), photo);
    const env = outsideEnv({ FITKIT_API: stack.api, FITKIT_TOKEN: await stack.token({ ...who, role: "member" }), INTERNAL_API_KEY: stack.internalApiKey });

    const out = JSON.parse(await sh(nodeApp, "node", ["upload-and-consume.mjs", "photo.png", who.userId, who.orgId], env));
    const again = await stack.internal("consume", {
      uploadIds: [out.uploaded.uploadId],
      ownerType: "progress_photo",
      owner: who,
      idempotencyKey: uniqueId("key"),
    });

    expect(out.uploaded).toEqual({
      uploadId: expect.any(String),
      key: expect.any(String),
      contentType: "image/png",
      size: photo.length,
      fileName: "photo.png",
    });
    expect(out.consumed).toEqual([
      expect.objectContaining({ uploadId: out.uploaded.uploadId, key: out.uploaded.key, contentType: "image/png", size: photo.length }),
    ]);
    expect(again).toMatchObject({ status: 409, body: { error: { code: "ALREADY_CONSUMED" } } });
  });
});

describe("a Vite + React app on its own origin", () => {
  it("uploads through useUpload in Chromium, with a clean console, an upload the service links", async () => {
    const who = { userId: uniqueId("user"), orgId: uniqueId("org") };
    const photo = gradientPng(320, 240);
    const page = await (await launched!).newPage();
    const problems: string[] = [];
    page.on("console", (message) => {
      if (message.type() === "error" || message.type() === "warning") problems.push(`${message.type()}: ${message.text()}`);
    });
    page.on("pageerror", (error) => problems.push(String(error)));

    await page.goto(app.origin);
    await page.fill("input[name=token]", await stack.token({ ...who, role: "member" }));
    await page.setInputFiles("input[name=photos]", { name: "progress.png", mimeType: "image/png", buffer: photo });
    await page.click("button:has-text('Upload')");
    await page.waitForSelector("[data-testid=uploaded] li", { timeout: 30_000 });
    const uploadId = await page.getAttribute("[data-testid=uploaded] li", "data-upload-id");
    const linked = await stack.internal("consume", { uploadIds: [uploadId], ownerType: "progress_photo", owner: who, idempotencyKey: uniqueId("key") });
    await page.close();

    expect(linked).toMatchObject({ status: 200, body: { uploads: [{ uploadId, contentType: "image/png", size: photo.length }] } });
    expect(problems).toEqual([]);
  });
});
