/**
 * What Lambda's runtime gives every function, read where the SDK's default chain reads it: the
 * region (`AWS_REGION`), the execution role's credentials (`AWS_ACCESS_KEY_ID`,
 * `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`) and the endpoint overrides the local tests point
 * at their own server (`AWS_ENDPOINT_URL_<SERVICE>`, else `AWS_ENDPOINT_URL`). Read once per
 * container, on first use; a missing variable fails that use with a ConfigError naming it.
 */
import type { AwsCredentials } from "@fitkit/core/adapters/aws/sigv4";
import { ConfigError } from "@fitkit/core/config";
import { lazy } from "./lazy.js";

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new ConfigError(`${name} is not set (Lambda sets it for every function).`);
  return value;
}

export const awsEnvironment = lazy((): { region: string; credentials: AwsCredentials } => {
  const sessionToken = process.env.AWS_SESSION_TOKEN;
  return {
    region: required("AWS_REGION"),
    credentials: {
      accessKeyId: required("AWS_ACCESS_KEY_ID"),
      secretAccessKey: required("AWS_SECRET_ACCESS_KEY"),
      ...(sessionToken ? { sessionToken } : {}),
    },
  };
});

/** The endpoint override for one service, as the SDK reads it; undefined for the service's own. */
export function awsEndpointFor(service: "LAMBDA" | "SQS"): { endpoint: string } | Record<string, never> {
  const endpoint = process.env[`AWS_ENDPOINT_URL_${service}`] || process.env.AWS_ENDPOINT_URL;
  return endpoint ? { endpoint } : {};
}
