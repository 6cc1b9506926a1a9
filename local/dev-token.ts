/**
 * Prints a session token the local stack accepts:
 *   npm run --silent dev:token -- --user user_a --org org_1 --role member [--claims v1] [--expires 3600]
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
  },
});

const env = readLocalEnv(process.env);
const key = await ensureDevKey(env.dataDir);
process.stdout.write(
  `${await signDevToken(key.privateKeyPem, {
    userId: values.user!,
    ...(values.org ? { orgId: values.org } : {}),
    role: values.role!,
    claims: values.claims === "v1" ? "v1" : "v2",
    expiresInSeconds: Number(values.expires),
  })}\n`,
);
