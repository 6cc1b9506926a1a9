/**
 * Prints a session token the local stack accepts:
 *   npm run --silent dev:token -- --user user_a --org org_1 --role member [--claims v1] [--expires 3600] [--api http://127.0.0.1:3000]
 *
 * It asks the running stack first (`POST /dev/token` at `--api`, default `http://127.0.0.1:$PORT`
 * or port 3000), so the token is signed with the key that stack verifies with, wherever its
 * UPLOADS_DATA_DIR is. Only when no stack answers there does it sign with the dev key under this
 * shell's UPLOADS_DATA_DIR (default `.local/`) — the key a stack started later with that
 * directory will use.
 */
import { parseArgs } from "node:util";
import { ensureDevKey, signDevToken } from "./dev-auth.js";
import { readLocalEnv } from "./env.js";

const { values } = parseArgs({
  options: {
    user: { type: "string", default: "user_dev" },
    org: { type: "string" },
    role: { type: "string", default: "member" },
    claims: { type: "string", default: "v2" },
    expires: { type: "string", default: "3600" },
    api: { type: "string" },
  },
});

const env = readLocalEnv(process.env);
const api = values.api ?? `http://127.0.0.1:${env.port || 3000}`;
const request = {
  userId: values.user!,
  ...(values.org ? { orgId: values.org } : {}),
  role: values.role!,
  claims: values.claims === "v1" ? ("v1" as const) : ("v2" as const),
  expiresInSeconds: Number(values.expires),
};

type Asked = { token: string } | { refused: string } | { unreachable: string };

/** The running stack's answer; `unreachable` when nothing there speaks the dev-token route. */
async function askRunningStack(): Promise<Asked> {
  let res: Response;
  try {
    res = await fetch(new URL("/dev/token", api), {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(request),
      signal: AbortSignal.timeout(5000),
    });
  } catch (error) {
    return { unreachable: (error as Error).cause ? String((error as Error & { cause: unknown }).cause) : String(error) };
  }
  const body = (await res.json().catch(() => null)) as { token?: unknown; error?: { code?: unknown; message?: unknown } } | null;
  if (res.ok && typeof body?.token === "string") return { token: body.token };
  // Our stack's error body (e.g. dev tokens are off because it verifies real Clerk tokens): a
  // token signed with a local key would be refused by it too, so say why and stop.
  if (typeof body?.error?.code === "string") return { refused: `${body.error.code}: ${String(body.error.message)}` };
  return { unreachable: `HTTP ${res.status} is not the local stack's answer` };
}

const asked = await askRunningStack();
if ("token" in asked) {
  process.stdout.write(`${asked.token}\n`);
} else if ("refused" in asked) {
  process.stderr.write(`The local stack at ${api} refused to sign a dev token — ${asked.refused}\n`);
  process.exitCode = 1;
} else {
  process.stderr.write(`No local stack answered at ${api} (${asked.unreachable}); signed with the dev key under ${env.dataDir}.\n`);
  const key = await ensureDevKey(env.dataDir);
  process.stdout.write(`${await signDevToken(key.privateKeyPem, request)}\n`);
}
