/**
 * The secrets, set per stage with `npx sst secret set <Name> <value> --stage <stage>`. No R2
 * credential is among them: the stack creates the scoped R2 tokens itself (stacks/tokens.ts).
 * Functions never link a secret directly: `stacks/links.ts` groups them into the links the
 * handlers read, so a function gets only the groups it is linked to.
 */

/** Name → what to set (used by docs/deploy.md; keep both in step). */
export const SECRET_DESCRIPTIONS = {
  R2AccountId: "Cloudflare account id that owns the R2 buckets (the stack creates the buckets and their scoped R2 tokens in it)",
  UpstashRedisRestUrl: "Upstash Redis REST URL (https://…upstash.io)",
  UpstashRedisRestToken: "Upstash Redis REST token (read/write)",
  ClerkJwtKey: "Clerk JWT verification key (PEM public key), for networkless token verification",
  ClerkAuthorizedParties: "comma-separated origins accepted as the token's azp, e.g. https://app.example.com",
} as const;

export type SecretName = keyof typeof SECRET_DESCRIPTIONS;

/**
 * Needed only by a stage with a `publicMediaDomain` (whose Cloudflare cache unpublish, release
 * and the erasures purge), so it is not among the secrets every stage must set: a stage on r2.dev never asks for it.
 */
export const CACHE_PURGE_SECRET = {
  name: "CloudflareCachePurgeToken",
  description: "Cloudflare API token with Zone → Cache Purge on the public media domain's zone only (unpublish, release and the erasures purge published URLs)",
} as const;

export type Secrets = Record<SecretName, sst.Secret>;

/** Every secret is required: a deploy stops with "Set a value for <Name>" until it is set. */
export function createSecrets(): Secrets {
  const names = Object.keys(SECRET_DESCRIPTIONS) as SecretName[];
  return Object.fromEntries(names.map((name) => [name, new sst.Secret(name)])) as Secrets;
}
