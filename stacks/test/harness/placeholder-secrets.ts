/** A placeholder value for every secret the stack declares (so a new secret cannot be forgotten here), with a real-looking Upstash URL. */
import { SECRET_DESCRIPTIONS, type SecretName } from "../../secrets.js";

export function placeholderSecrets(upstashRestUrl: string): Record<SecretName, string> {
  const names = Object.keys(SECRET_DESCRIPTIONS) as SecretName[];
  return { ...(Object.fromEntries(names.map((name) => [name, `${name}-value`])) as Record<SecretName, string>), UpstashRedisRestUrl: upstashRestUrl };
}
