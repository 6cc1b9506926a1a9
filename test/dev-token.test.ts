/**
 * `npm run dev:token` prints a token the running local stack accepts without being told where
 * that stack keeps its key: it asks the stack, and signs with the key under its own
 * UPLOADS_DATA_DIR only when no stack answers.
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { devKeyPath, generateDevKeyPair } from "../local/dev-auth.js";
import { freePort } from "../support/child-processes.js";
import { type LocalStack, startLocalStack } from "../support/local-stack.js";
import { uniqueId } from "./support/fixtures.js";
import { postJson } from "./support/http.js";

const root = fileURLToPath(new URL("..", import.meta.url));

/** Runs local/dev-token.ts as `npm run dev:token` does; its UPLOADS_DATA_DIR is a scratch directory unless given. */
function devToken(args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  const { PORT: _port, CLERK_JWT_KEY: _key, ...inherited } = process.env;
  const variables = { ...inherited, UPLOADS_DATA_DIR: join(scratch, "unused"), ...env };
  return new Promise((resolve) => {
    execFile(process.execPath, ["--import", "tsx", "local/dev-token.ts", ...args], { cwd: root, env: variables, timeout: 30_000 }, (error, stdout, stderr) =>
      resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

const claimsOf = (token: string): Record<string, unknown> => JSON.parse(Buffer.from(token.split(".")[1]!, "base64url").toString("utf8"));

const presignMessage = (api: string, token: string) =>
  postJson(`${api}/uploads`, { ownerType: "message", files: [{ contentType: "image/png", size: 10 }] }, token);

let scratch: string;
beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), "fitkit-dev-token-"));
});
afterAll(() => rm(scratch, { recursive: true, force: true }));

describe("dev:token with a stack running", () => {
  let stack: LocalStack;
  beforeAll(async () => {
    stack = await startLocalStack();
  }, 60_000);
  afterAll(() => stack?.close());

  it("without --api asks the stack on http://127.0.0.1:$PORT (as the README's walk-through runs it)", async () => {
    const orgId = uniqueId("org");

    const run = await devToken(["--user", uniqueId("user"), "--org", orgId, "--role", "member"], { PORT: new URL(stack.api).port });

    expect(run).toMatchObject({ code: 0, stderr: "" });
    expect((await presignMessage(stack.api, run.stdout.trim())).status).toBe(201);
  });

  it("prints a token the stack accepts although this shell's UPLOADS_DATA_DIR is another directory (no key is made there)", async () => {
    const elsewhere = join(scratch, "elsewhere");
    const orgId = uniqueId("org");

    const run = await devToken(["--api", stack.api, "--user", uniqueId("user"), "--org", orgId, "--role", "member"], { UPLOADS_DATA_DIR: elsewhere });

    expect(run).toMatchObject({ code: 0, stderr: "" });
    expect((await presignMessage(stack.api, run.stdout.trim())).status).toBe(201);
    expect(existsSync(devKeyPath(elsewhere))).toBe(false);
  });

  it("passes --claims v1, --role and --expires through to the token", async () => {
    const orgId = uniqueId("org");

    const run = await devToken(["--api", stack.api, "--user", uniqueId("user"), "--org", orgId, "--role", "coach", "--claims", "v1", "--expires", "120"], {});

    const claims = claimsOf(run.stdout.trim());
    expect({ org_id: claims.org_id, org_role: claims.org_role, o: claims.o, lifetime: Number(claims.exp) - Number(claims.iat) }).toEqual({
      org_id: orgId,
      org_role: "org:coach",
      o: undefined,
      lifetime: 120,
    });
    expect((await presignMessage(stack.api, run.stdout.trim())).status).toBe(201);
  });

  it("an invalid request is refused by the stack: exit 1 with its reason, no token", async () => {
    const run = await devToken(["--api", stack.api, "--user", "not a user id"], {});

    expect(run.code).toBe(1);
    expect(run.stdout).toBe("");
    expect(run.stderr).toContain("INVALID_REQUEST");
  });
});

describe("dev:token with no stack running", () => {
  it("signs with the key under UPLOADS_DATA_DIR, which a stack started on that directory then accepts", async () => {
    const dataDir = join(scratch, "shared-dir");
    const nobody = `http://127.0.0.1:${await freePort()}`;

    const run = await devToken(["--api", nobody, "--user", uniqueId("user"), "--org", uniqueId("org"), "--role", "admin"], { UPLOADS_DATA_DIR: dataDir });
    const stack = await startLocalStack({ UPLOADS_DATA_DIR: dataDir });
    try {
      expect(run.code).toBe(0);
      expect(run.stderr).toContain(`No local stack answered at ${nobody}`);
      expect((await presignMessage(stack.api, run.stdout.trim())).status).toBe(201);
    } finally {
      await stack.close();
    }
  }, 60_000);
});

describe("dev:token against a stack that verifies real Clerk tokens", () => {
  it("exits 1 saying dev tokens are off, instead of printing a token the stack would refuse", async () => {
    const stack = await startLocalStack({ CLERK_JWT_KEY: generateDevKeyPair().publicKeyPem });
    try {
      const run = await devToken(["--api", stack.api, "--org", "org_1"], {});

      expect(run).toMatchObject({ code: 1, stdout: "" });
      expect(run.stderr).toContain("FORBIDDEN");
    } finally {
      await stack.close();
    }
  }, 60_000);
});
