/**
 * The secrets, set per stage with `npx sst secret set <Name> <value> --stage <stage>`.
 * Functions never link a secret directly: `stacks/links.ts` groups them into the links the
 * handlers read, so a function gets only the groups it is linked to.
 */

/** Name → what to set (used by docs/deploy.md; keep both in step). */
export const SECRET_DESCRIPTIONS = {
  R2AccountId: "Cloudflare account id that owns the R2 buckets (endpoint https://<id>.r2.cloudflarestorage.com)",
  R2WriterAccessKeyId: "R2 API token with Object Read & Write on both buckets: access key id",
  R2WriterSecretAccessKey: "the same token: secret access key",
  R2ReaderAccessKeyId: "R2 API token with Object Read only on both buckets (signs GET URLs): access key id",
  R2ReaderSecretAccessKey: "the same token: secret access key",
  R2PublicWriterAccessKeyId: "R2 API token with Object Read & Write on the PUBLIC bucket only (publish, unpublish, release): access key id",
  R2PublicWriterSecretAccessKey: "the same token: secret access key",
  UpstashRedisRestUrl: "Upstash Redis REST URL (https://…upstash.io)",
  UpstashRedisRestToken: "Upstash Redis REST token (read/write)",
  ClerkJwtKey: "Clerk JWT verification key (PEM public key), for networkless token verification",
  ClerkAuthorizedParties: "comma-separated origins accepted as the token's azp, e.g. https://app.example.com",
  ClamdAddress: 'clamd "host:port" reachable from Lambda; empty (the default) turns scanning off',
} as const;

export type SecretName = keyof typeof SECRET_DESCRIPTIONS;

/** Secrets that may stay unset: their placeholder is used. */
const PLACEHOLDERS: Partial<Record<SecretName, string>> = {
  ClamdAddress: "",
};

export type Secrets = Record<SecretName, sst.Secret>;

export function createSecrets(): Secrets {
  const names = Object.keys(SECRET_DESCRIPTIONS) as SecretName[];
  return Object.fromEntries(names.map((name) => [name, new sst.Secret(name, PLACEHOLDERS[name])])) as Secrets;
}
