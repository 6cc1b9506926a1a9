/**
 * A minimal client of the Lambda Runtime API (what AWS's base images ship as their runtime
 * interface client): fetch the next event, run the handler, post its result or its error. The image
 * is Debian's (ClamAV comes from Debian), so it brings its own loop instead of a native add-on.
 * https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html
 */
export type Handler = (event: unknown) => Promise<unknown>;

const VERSION = "2018-06-01";

/** Serves invocations until `shouldStop()` (tests) — in Lambda, until the container is frozen for good. */
export async function serveInvocations(runtimeApi: string, handler: Handler, shouldStop: () => boolean = () => false): Promise<void> {
  const base = `http://${runtimeApi}/${VERSION}/runtime`;
  while (!shouldStop()) {
    const next = await fetch(`${base}/invocation/next`);
    if (!next.ok) throw new Error(`Runtime API answered ${next.status} to /invocation/next`);
    const requestId = next.headers.get("lambda-runtime-aws-request-id");
    if (!requestId) throw new Error("Runtime API sent an invocation without a request id");
    let result: { ok: true; body: string } | { ok: false; body: string };
    try {
      result = { ok: true, body: JSON.stringify((await handler(await next.json())) ?? null) };
    } catch (error) {
      result = { ok: false, body: JSON.stringify(errorBody(error)) };
    }
    const path = result.ok ? "response" : "error";
    const posted = await fetch(`${base}/invocation/${requestId}/${path}`, {
      method: "POST",
      headers: { "content-type": "application/json", ...(result.ok ? {} : { "lambda-runtime-function-error-type": "Unhandled" }) },
      body: result.body,
    });
    await posted.body?.cancel();
  }
}

/** Reports a failed start (bad configuration): Lambda then fails the invocation with this error. */
export async function reportInitError(runtimeApi: string, error: unknown): Promise<void> {
  await fetch(`http://${runtimeApi}/${VERSION}/runtime/init/error`, {
    method: "POST",
    headers: { "content-type": "application/json", "lambda-runtime-function-error-type": "Runtime.InitError" },
    body: JSON.stringify(errorBody(error)),
  });
}

function errorBody(error: unknown): { errorType: string; errorMessage: string } {
  return error instanceof Error ? { errorType: error.name, errorMessage: error.message } : { errorType: "Error", errorMessage: String(error) };
}
