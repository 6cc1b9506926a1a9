/**
 * The README's walk-through with curl, run as written: its shell blocks (under "Walk-through with
 * curl", up to the next section) in one bash, against a fresh local stack on a free port (`PORT`,
 * which the walk-through and `dev:token` follow), with the stack's internal key. Each result the
 * walk-through says it prints is checked, in order — a walk-through that stops being true fails here.
 */
import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LocalStack, startLocalStack } from "../support/local-stack.js";

const run = promisify(execFile);
let stack: LocalStack;

beforeAll(async () => {
  stack = await startLocalStack();
}, 90_000);
afterAll(() => stack?.close());

/** The ```sh blocks of the README section that starts with `heading`, up to the next `## ` section. */
function shellBlocksOf(markdown: string, heading: string): string[] {
  const start = markdown.indexOf(`\n${heading}\n`);
  if (start < 0) throw new Error(`README has no "${heading}" section`);
  const next = markdown.indexOf("\n## ", start + heading.length + 2);
  const section = markdown.slice(start, next < 0 ? undefined : next);
  return [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map((match) => match[1]!);
}

describe("the README's walk-through with curl", () => {
  it("runs as written against a fresh stack and prints what it says", async () => {
    const blocks = shellBlocksOf(await readFile("README.md", "utf8"), "## Walk-through with curl");
    const port = new URL(stack.api).port;

    // The stack's key, not the walk-through's example value: everything else as written.
    const script = ["set -eo pipefail", ...blocks]
      .join("\n")
      .replaceAll("export INTERNAL_API_KEY=dev-internal-key", `export INTERNAL_API_KEY=${stack.internalApiKey}`);
    const { stdout } = await run("bash", ["-c", script], { env: { ...process.env, PORT: port }, timeout: 60_000, maxBuffer: 4 * 1024 * 1024 });
    const lines = stdout.trim().split("\n");

    expect(blocks).toHaveLength(2);
    expect(lines).toEqual([
      expect.stringMatching(/^\{"uploads":\[\{"uploadId":"[0-9a-f]{32}","key":"org_1\/progress_photo\/user_a\/[^"]+\.png","mode":"single"/),
      "PUT 200",
      expect.stringMatching(
        /^\{"uploads":\[\{"uploadId":"[0-9a-f]{32}","bucket":"fitkit-media","key":"org_1\/progress_photo\/user_a\/[^"]+\.png","contentType":"image\/png","size":69/,
      ),
      "same answer",
      "another key: 409",
      "ready 1x1",
      "GET 200 image/png",
      "served: the processed copy, not the uploaded bytes",
      expect.stringMatching(/^\{"token":"[A-Za-z0-9_-]{43}","path":"\/public\/signatures\/[A-Za-z0-9_-]{43}","expiresAt":/),
      expect.stringMatching(/^\{"uploadId":"[0-9a-f]{32}","sha256":"[A-Za-z0-9+/=]+","size":69\}$/),
      expect.stringMatching(/^\{"uploads":\[\{"uploadId":"[0-9a-f]{32}","bucket":"fitkit-records","key":"records\/org_1\//),
      expect.stringMatching(/^\{"used":\d+,"reserved":0,"quota":10737418240\}$/),
      expect.stringMatching(/^\{"claimed":0,"deleted":0,"failed":0,/),
    ]);
  });
});
