/** `npm start`: the local stack on the embedded defaults; prints one JSON ready line. */
import { ConfigError } from "@fitkit/core/config";
import { readLocalEnv } from "./env.js";
import { startLocalStack } from "./stack.js";

try {
  const env = readLocalEnv(process.env);
  const stack = await startLocalStack(env);
  if (env.internalApiKeyGenerated) process.stderr.write(`x-internal-key for /internal/* (generated; set INTERNAL_API_KEY to fix it): ${env.internalApiKey}\n`);
  process.stdout.write(`${JSON.stringify({ event: "ready", api: stack.api, s3: stack.s3, buckets: stack.buckets })}\n`);
  const stop = () => void stack.close().then(() => process.exit(0));
  // Exit non-zero when the stack cannot go on, so a supervisor (or the developer) restarts it whole.
  void stack.fatal.then(() => stack.close().finally(() => process.exit(1)));
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
} catch (error) {
  process.stderr.write(`${error instanceof ConfigError ? error.message : (error as Error).stack}\n`);
  process.exit(1);
}
