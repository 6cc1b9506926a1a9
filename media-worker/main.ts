/**
 * The media worker image's entry point (media-worker/Dockerfile): the Lambda Runtime API loop the
 * scanner's image uses, serving the `process-media` handler — the same handler the function table
 * names and the local stack runs in-process. Links arrive as `SST_RESOURCE_<Name>` variables
 * (stacks/media-worker.ts); ffmpeg, ffprobe and prlimit are the image's Debian packages on PATH.
 */
import type { SQSEvent } from "aws-lambda";
import { handler } from "../functions/process-media.js";
import { reportInitError, serveInvocations } from "../scanner/src/runtime-api.js";

const runtimeApi = process.env.AWS_LAMBDA_RUNTIME_API;
if (!runtimeApi) throw new Error("AWS_LAMBDA_RUNTIME_API is unset: this image runs as a Lambda function");
try {
  await serveInvocations(runtimeApi, (event) => handler(event as SQSEvent));
} catch (error) {
  await reportInitError(runtimeApi, error);
  throw error;
}
