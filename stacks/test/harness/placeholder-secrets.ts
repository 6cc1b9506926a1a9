/** A placeholder value for every secret the stack declares (so a new secret cannot be forgotten here), with a real-looking Upstash URL. */
import { CACHE_PURGE_SECRET, SECRET_DESCRIPTIONS, type SecretName } from "../../secrets.js";

export function placeholderSecrets(upstashRestUrl: string): Record<SecretName | typeof CACHE_PURGE_SECRET.name, string> {
  const names = Object.keys(SECRET_DESCRIPTIONS) as SecretName[];
  return {
    ...(Object.fromEntries(names.map((name) => [name, `${name}-value`])) as Record<SecretName, string>),
    UpstashRedisRestUrl: upstashRestUrl,
    // Asked for only by stages with a public media domain (stacks/links.ts).
    [CACHE_PURGE_SECRET.name]: `${CACHE_PURGE_SECRET.name}-value`,
  };
}
