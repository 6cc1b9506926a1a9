/**
 * The LambdaScanner against a mocked Lambda client (aws-sdk-client-mock, behind the scanner's
 * FunctionInvoker port; the lean invoker deployed functions use is held to the SDK's requests and
 * error handling in test/lean-aws-clients.test.ts): what it sends (a GET URL
 * signed with the token of the object's bucket, or the bytes inline) and how each answer of the
 * scanner Lambda — verdicts, function errors, throttling, malformed replies — becomes a verdict or
 * DependencyUnavailableError("scanner") (503, fail closed). The scanner's own side is tested in
 * scanner/test against a real clamd.
 */
import { InvokeCommand, LambdaClient, TooManyRequestsException } from "@aws-sdk/client-lambda";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it } from "vitest";
import { HTTP_STATUS_BY_CODE } from "../../contract/catalog.js";
import { DependencyUnavailableError } from "../../errors.js";
import { FastUrlSigner } from "../s3/fast-url-signer.js";
import type { FunctionInvoker } from "./lambda-http-invoker.js";
import { LambdaScanner, LambdaScannerError } from "./lambda-scanner.js";
import { MAX_INLINE_SCAN_BYTES } from "./scanner-protocol.js";

const client = new LambdaClient({ region: "eu-west-1", credentials: { accessKeyId: "a", secretAccessKey: "b" } });
const lambda = mockClient(client);
/** The mocked SDK client as the scanner's invoker. */
const invoker: FunctionInvoker = {
  invoke: async (FunctionName, Payload) => {
    const out = await client.send(new InvokeCommand({ FunctionName, Payload }));
    return { ...(out.FunctionError ? { functionError: out.FunctionError } : {}), payload: out.Payload ?? new Uint8Array() };
  },
};
const endpoint = "https://0f1e2d3c.r2.cloudflarestorage.com";
const signers = {
  media: new FastUrlSigner({ endpoint, region: "auto", accessKeyId: "media-writer-id", secretAccessKey: "m" }),
  compliance: new FastUrlSigner({ endpoint, region: "auto", accessKeyId: "compliance-writer-id", secretAccessKey: "c" }),
};
const scanner = new LambdaScanner({
  lambda: invoker,
  functionName: "fitkit-uploads-production-scanner",
  signerFor: (bucket) => (bucket === "compliance-b" ? signers.compliance : signers.media),
  urlTtlSeconds: 120,
});

const reply = (value: unknown) => ({ StatusCode: 200, Payload: new TextEncoder().encode(JSON.stringify(value)) as never });
const sentPayloads = () => lambda.commandCalls(InvokeCommand).map((call) => JSON.parse(String(call.args[0].input.Payload)));

/** A source that records whether it was released (its `finally` ran). */
function trackedSource(chunks: Uint8Array[]) {
  const state = { released: false, read: 0 };
  async function* generate() {
    try {
      for (const chunk of chunks) {
        state.read += 1;
        yield chunk;
      }
    } finally {
      state.released = true;
    }
  }
  return { source: generate(), state };
}

async function* once(bytes: Uint8Array) {
  yield bytes;
}

async function failure(promise: Promise<unknown>): Promise<DependencyUnavailableError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(DependencyUnavailableError);
  return error as DependencyUnavailableError;
}

beforeEach(() => lambda.reset());

describe("what the LambdaScanner sends", () => {
  it("a stored object goes as a GET URL signed with its bucket's token, and the caller's stream is released", async () => {
    lambda.on(InvokeCommand).resolves(reply({ verdict: "clean" }));
    const { source, state } = trackedSource([new Uint8Array(10), new Uint8Array(10)]);

    const verdict = await scanner.scan(source, { bucket: "compliance-b", key: "incoming/o/u.pdf", maxBytes: 1000 });

    expect(verdict).toEqual({ clean: true });
    const calls = lambda.commandCalls(InvokeCommand);
    expect(calls.map((call) => call.args[0].input.FunctionName)).toEqual(["fitkit-uploads-production-scanner"]);
    const [payload] = sentPayloads();
    expect(Object.keys(payload).sort()).toEqual(["maxBytes", "url"]);
    expect(payload.maxBytes).toBe(1000);
    const url = new URL(payload.url);
    expect({ origin: url.origin, path: url.pathname, expires: url.searchParams.get("X-Amz-Expires") }).toEqual({
      origin: endpoint,
      path: "/compliance-b/incoming/o/u.pdf",
      expires: "120",
    });
    expect(url.searchParams.get("X-Amz-Credential")).toMatch(/^compliance-writer-id\//);
    expect(state).toEqual({ released: true, read: 1 });
  });

  it("content not stored yet goes inline, base64", async () => {
    lambda.on(InvokeCommand).resolves(reply({ verdict: "clean" }));
    const bytes = new TextEncoder().encode("%PDF-1.7 signature");

    await scanner.scan(once(bytes));

    expect(sentPayloads()).toEqual([{ bytesBase64: Buffer.from(bytes).toString("base64") }]);
  });

  it("refuses inline content larger than an invoke carries, without invoking", async () => {
    const error = await failure(scanner.scan(once(new Uint8Array(MAX_INLINE_SCAN_BYTES + 1))));

    expect(error.cause).toBeInstanceOf(LambdaScannerError);
    expect(lambda.commandCalls(InvokeCommand)).toHaveLength(0);
  });

  it("lets the source's own error through unchanged", async () => {
    const broken = new Error("storage stream broke");
    async function* failing(): AsyncIterable<Uint8Array> {
      yield* [];
      throw broken;
    }

    await expect(scanner.scan(failing())).rejects.toBe(broken);
    await expect(scanner.scan(failing(), { bucket: "media-b", key: "k", maxBytes: 10 })).rejects.toBe(broken);
  });
});

describe("how the LambdaScanner reads the answer", () => {
  it("clean and infected are verdicts", async () => {
    lambda
      .on(InvokeCommand)
      .resolvesOnce(reply({ verdict: "clean" }))
      .resolvesOnce(reply({ verdict: "infected", signature: "Eicar-Signature" }));

    expect(await scanner.scan(once(new Uint8Array(3)))).toEqual({ clean: true });
    expect(await scanner.scan(once(new Uint8Array(3)))).toEqual({ clean: false, signature: "Eicar-Signature" });
  });

  it("a function error (crash, timeout) is DependencyUnavailableError, which the API answers 503", async () => {
    lambda
      .on(InvokeCommand)
      .resolves({ StatusCode: 200, FunctionError: "Unhandled", Payload: new TextEncoder().encode('{"errorType":"Runtime.ExitError"}') as never });

    const error = await failure(scanner.scan(once(new Uint8Array(3))));

    expect({ dependency: error.dependency, code: error.code, status: HTTP_STATUS_BY_CODE[error.code] }).toEqual({
      dependency: "scanner",
      code: "DEPENDENCY_UNAVAILABLE",
      status: 503,
    });
    expect((error.cause as Error).message).toBe("the scanner function failed (Unhandled)");
  });

  it("a throttled invoke is DependencyUnavailableError naming the throttle", async () => {
    lambda.on(InvokeCommand).rejects(new TooManyRequestsException({ message: "Rate exceeded", $metadata: {} }));

    const error = await failure(scanner.scan(once(new Uint8Array(3))));

    expect(error.dependency).toBe("scanner");
    expect((error.cause as Error).message).toBe("could not invoke the scanner: TooManyRequestsException");
  });

  it("an error verdict (no verdict could be had) is DependencyUnavailableError, not clean", async () => {
    lambda.on(InvokeCommand).resolves(reply({ verdict: "error", reason: "clamd is not running" }));

    const error = await failure(scanner.scan(once(new Uint8Array(3))));

    expect((error.cause as Error).message).toBe("the scanner gave no verdict: clamd is not running");
  });

  it("a reply of another shape is DependencyUnavailableError, never taken as clean", async () => {
    lambda
      .on(InvokeCommand)
      .resolvesOnce(reply({ verdict: "CLEAN" }))
      .resolvesOnce(reply({ clean: true }))
      .resolvesOnce({ StatusCode: 200, Payload: new TextEncoder().encode("not json") as never })
      .resolvesOnce({ StatusCode: 200 });

    for (let attempt = 0; attempt < 4; attempt++) {
      const error = await failure(scanner.scan(once(new Uint8Array(3))));
      expect((error.cause as Error).message).toBe("the scanner sent a reply of another shape");
    }
  });

  it("keeps at most maxConcurrentScans invokes in flight; the others wait their turn and all get their verdict", async () => {
    let inFlight = 0;
    let most = 0;
    const answers: (() => void)[] = [];
    lambda.on(InvokeCommand).callsFake(async () => {
      inFlight += 1;
      most = Math.max(most, inFlight);
      await new Promise<void>((resolve) => answers.push(resolve));
      inFlight -= 1;
      return reply({ verdict: "clean" });
    });
    const limited = new LambdaScanner({ lambda: invoker, functionName: "scanner", signerFor: () => signers.media, maxConcurrentScans: 3 });

    const scans = Array.from({ length: 10 }, (_, i) => limited.scan(once(new Uint8Array([i])), { bucket: "media-b", key: `k${i}`, maxBytes: 1 }));
    // Answer the scans one at a time as they arrive.
    let answered = 0;
    while (answered < 10) {
      await new Promise((resolve) => setTimeout(resolve, 1));
      const next = answers.shift();
      if (next) {
        next();
        answered += 1;
      }
    }

    expect(await Promise.all(scans)).toEqual(Array.from({ length: 10 }, () => ({ clean: true })));
    expect({ invokes: lambda.commandCalls(InvokeCommand).length, most }).toEqual({ invokes: 10, most: 3 });
  });

  it("a failed scan frees its turn for the next", async () => {
    lambda
      .on(InvokeCommand)
      .rejectsOnce(new Error("boom"))
      .resolves(reply({ verdict: "clean" }));
    const limited = new LambdaScanner({ lambda: invoker, functionName: "scanner", signerFor: () => signers.media, maxConcurrentScans: 1 });

    const [first, second] = await Promise.allSettled([limited.scan(once(new Uint8Array(1))), limited.scan(once(new Uint8Array(1)))]);

    expect(first.status).toBe("rejected");
    expect(second).toEqual({ status: "fulfilled", value: { clean: true } });
  });
});
