/**
 * Development session tokens: an RSA key pair kept under UPLOADS_DATA_DIR whose public half the
 * local stack gives Clerk's `verifyToken` as `jwtKey`, and Clerk-shaped tokens signed with it
 * (v2 `o` claim by default, v1 `org_id`/`org_role` on request). Tests use the same code with a
 * key they generate.
 */
import { generateKeyPairSync, sign } from "node:crypto";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";

export interface DevKeyPair {
  privateKeyPem: string;
  publicKeyPem: string;
}

export function generateDevKeyPair(): DevKeyPair {
  const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  return {
    privateKeyPem: privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
    publicKeyPem: publicKey.export({ type: "spki", format: "pem" }).toString(),
  };
}

export const devKeyPath = (dataDir: string) => join(dataDir, "dev-clerk-key.json");

/** The dev key under `dataDir`, created on first use. */
export async function ensureDevKey(dataDir: string): Promise<DevKeyPair> {
  const path = devKeyPath(dataDir);
  try {
    return JSON.parse(await readFile(path, "utf8")) as DevKeyPair;
  } catch {
    await mkdir(dataDir, { recursive: true });
    const pair = generateDevKeyPair();
    await writeFile(path, JSON.stringify(pair), { mode: 0o600 });
    return pair;
  }
}

export interface DevTokenOptions {
  userId: string;
  orgId?: string;
  role?: string;
  /** Which organisation claims to write: "v2" (`o: { id, rol }`, default) or "v1" (`org_id`, `org_role`). */
  claims?: "v1" | "v2";
  expiresInSeconds?: number;
  /** Seconds to shift iat/nbf/exp by (negative = in the past), for expired-token tests. */
  issuedOffsetSeconds?: number;
  azp?: string;
  /** The `sts` claim: "pending" makes a session that still has a task to complete (signed out). */
  sessionStatus?: "active" | "pending";
}

export async function signDevToken(privateKeyPem: string, options: DevTokenOptions): Promise<string> {
  const now = Math.floor(Date.now() / 1000) + (options.issuedOffsetSeconds ?? 0);
  const payload: Record<string, unknown> = {
    sub: options.userId,
    iss: "https://clerk.fitkit.local",
    sid: `sess_dev_${options.userId}`,
    iat: now,
    nbf: now - 5,
    exp: now + (options.expiresInSeconds ?? 3600),
    ...(options.azp ? { azp: options.azp } : {}),
    ...(options.sessionStatus ? { sts: options.sessionStatus } : {}),
  };
  if (options.orgId) {
    if (options.claims === "v1") {
      payload.org_id = options.orgId;
      payload.org_role = `org:${options.role ?? "member"}`;
    } else {
      payload.v = 2;
      payload.o = { id: options.orgId, rol: options.role ?? "member" };
    }
  }
  return signRs256(payload, privateKeyPem);
}

/**
 * An RS256 JWS of exactly `payload`. Not Clerk's `signJwt`: it overwrites `iat` with its own clock
 * reading, so a second boundary between ours and its made a 120 s token 119 s long, and an
 * `issuedOffsetSeconds` token carried today's `iat`. Clerk's `verifyToken` checks what is signed here.
 */
function signRs256(payload: Record<string, unknown>, privateKeyPem: string): string {
  const encode = (part: unknown) => Buffer.from(JSON.stringify(part), "utf8").toString("base64url");
  const signingInput = `${encode({ alg: "RS256", typ: "JWT", kid: "ins_dev" })}.${encode(payload)}`;
  return `${signingInput}.${sign("RSA-SHA256", Buffer.from(signingInput, "ascii"), privateKeyPem).toString("base64url")}`;
}
