import { existsSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { componentName, FUNCTION_KEYS, FUNCTIONS, INTERNAL_FUNCTION_KEYS } from "../functions.js";

describe("the function table", () => {
  it("gives every function a handler in functions/<key>.ts and a unique component name", () => {
    for (const key of FUNCTION_KEYS) expect(FUNCTIONS[key].handler).toBe(`functions/${key}.handler`);
    expect(new Set(FUNCTION_KEYS.map(componentName)).size).toBe(FUNCTION_KEYS.length);
  });

  it("separates routed from internal functions (an internal one's key is its operation's name: POST /internal/<key>)", () => {
    expect(INTERNAL_FUNCTION_KEYS).toEqual([
      "consume",
      "release",
      "publish",
      "unpublish",
      "erase-user",
      "erase-org",
      "export-user",
      "issue-signature-token",
      "usage",
      "set-quota",
      "sweeper",
      "orphan-audit",
    ]);
  });
});

describe("the handlers named in the table", () => {
  // The wiring tests stub SST's build, so only `sst deploy` would notice a missing handler.
  it("exist as functions/<key>.ts and export `handler`", () => {
    const exportsHandler = /export\s+(const|let|async\s+function|function)\s+handler\b|export\s*\{[^}]*\bhandler\b[^}]*\}/;
    const problems = FUNCTION_KEYS.flatMap((key) => {
      const file = new URL(`../../${FUNCTIONS[key].handler.replace(/\.handler$/, ".ts")}`, import.meta.url);
      if (!existsSync(file)) return [`${key}: functions/${key}.ts is missing`];
      return exportsHandler.test(readFileSync(file, "utf8")) ? [] : [`${key}: functions/${key}.ts does not export handler`];
    });
    expect(problems).toEqual([]);
  });
});
