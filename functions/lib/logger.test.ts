import type { Context } from "aws-lambda";
import { afterEach, describe, expect, it, vi } from "vitest";

const context = (requestId: string) => ({ functionName: "logger-test", awsRequestId: requestId, invokedFunctionArn: "arn", memoryLimitInMB: "128" }) as Context;

/** The JSON lines written to stdout while `run` runs, from a fresh copy of the logger module (a new container). */
async function linesOf(run: (module: typeof import("./logger.js")) => Promise<void>): Promise<Record<string, unknown>[]> {
  vi.resetModules();
  const module = await import("./logger.js");
  const lines: Record<string, unknown>[] = [];
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((chunk: string | Uint8Array) => {
    for (const line of String(chunk).split("\n").filter(Boolean)) lines.push(JSON.parse(line) as Record<string, unknown>);
    return true;
  }) as typeof process.stdout.write;
  try {
    await run(module);
  } finally {
    process.stdout.write = write;
  }
  return lines;
}

describe("per-invocation logging", () => {
  afterEach(() => vi.resetModules());

  it("each line carries its own invocation's request id, and only the container's first invocation is a cold start", async () => {
    const lines = await linesOf(async ({ logger, withLogContext }) => {
      await withLogContext(context("r1"), async () => logger.info("first"));
      await withLogContext(context("r2"), async () => logger.info("second"));
    });

    expect(lines.map((l) => [l.message, l.function_request_id, l.cold_start])).toEqual([
      ["first", "r1", true],
      ["second", "r2", false],
    ]);
  });

  it("a first invocation that logs nothing still uses up the cold start: a later one's line is not a cold start", async () => {
    const lines = await linesOf(async ({ logger, withLogContext }) => {
      await withLogContext(context("r1"), async () => undefined);
      await withLogContext(context("r2"), async () => logger.info("later"));
    });

    expect(lines.map((l) => [l.message, l.function_request_id, l.cold_start])).toEqual([["later", "r2", false]]);
  });

  it("concurrent invocations keep their own request ids", async () => {
    const lines = await linesOf(async ({ logger, withLogContext }) => {
      await Promise.all(
        ["a", "b", "c"].map((id) =>
          withLogContext(context(id), async () => {
            await new Promise((resolve) => setTimeout(resolve, 1));
            logger.info(`line ${id}`);
          }),
        ),
      );
    });

    expect(lines.map((l) => [l.message, l.function_request_id]).sort()).toEqual([
      ["line a", "a"],
      ["line b", "b"],
      ["line c", "c"],
    ]);
  });
});
