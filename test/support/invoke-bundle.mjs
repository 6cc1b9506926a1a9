// One invocation of a deployed bundle, as Lambda makes it: this bare Node process (no loader, no
// node_modules but what the parent put beside the bundle, an environment the parent chose) imports
// the bundle, calls its `handler(event, context)` once and sends the reply back over IPC. Plain
// JavaScript, so nothing of the test runner is loaded. Used by test/linked-resources.test.ts.
import { randomUUID } from "node:crypto";
import { pathToFileURL } from "node:url";

// No orphan: the process ends with its parent (the IPC channel closes).
process.once("disconnect", () => process.exit(1));

process.once("message", async ({ bundle, functionName, timeoutMs, event }) => {
  const started = Date.now();
  // Lambda ends an invocation at the function's timeout.
  setTimeout(() => process.send({ thrown: `Task timed out after ${timeoutMs / 1000} seconds` }, () => process.exit(1)), timeoutMs).unref();
  const context = {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: "$LATEST",
    invokedFunctionArn: `arn:aws:lambda:eu-west-1:000000000000:function:${functionName}`,
    memoryLimitInMB: "1024",
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: "test",
    getRemainingTimeInMillis: () => Math.max(0, timeoutMs - (Date.now() - started)),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
  let outcome;
  try {
    const { handler } = await import(pathToFileURL(bundle).href);
    outcome = { reply: (await handler(event, context)) ?? null };
  } catch (error) {
    // A handler that throws (a scheduled run that failed): Lambda reports the error.
    outcome = { thrown: error instanceof Error ? `${error.name}: ${error.message}` : String(error) };
  }
  // Lambda freezes the container after the reply; here the process ends (open sockets included).
  process.send(outcome, () => process.exit(0));
});
