/**
 * The tables in the docs that restate the catalog (core/src/contract/catalog.ts) say what it says:
 * docs/API.md's error table (every code with its status, nothing else), the README's error table
 * (every code under its status, once), and docs/API.md's owner-type table (who may presign, the
 * types and their limits, the bucket, who may read, publishable); the README names every internal
 * operation of the function table, and docs/deploy.md's R2 token table names, for each token link,
 * exactly the functions the table links to it; the SDK's README and package description name every
 * operation the SDK calls. Edit the catalog or the table and these fail
 * until the docs follow.
 */
import { readFile } from "node:fs/promises";
import { HTTP_STATUS_BY_CODE, OWNER_TYPE_POLICIES, OWNER_TYPES, type ReadRule } from "@fitkit/core/contract/catalog";
import { describe, expect, it } from "vitest";
import { UPLOADS_OPERATIONS } from "../sdk/src/operations.js";
import { FUNCTION_KEYS, FUNCTIONS, type FunctionSpec, INTERNAL_FUNCTION_KEYS } from "../stacks/functions.js";

/** The rows of the first Markdown table after `heading` (cells trimmed, header and rule dropped). */
function tableAfter(markdown: string, heading: string): string[][] {
  const start = markdown.indexOf(`\n${heading}\n`);
  if (start < 0) throw new Error(`no "${heading}" heading`);
  const lines = markdown.slice(start).split("\n");
  const first = lines.findIndex((line) => line.startsWith("|"));
  const rows: string[][] = [];
  for (const line of lines.slice(first + 2)) {
    if (!line.startsWith("|")) break;
    rows.push(
      line
        .slice(1, -1)
        .split(/(?<!\\)\|/)
        .map((cell) => cell.trim()),
    );
  }
  return rows;
}

const codesIn = (cell: string) => [...cell.matchAll(/`([A-Z_]+)`/g)].map((match) => match[1]!);
const MiB = 1024 * 1024;

/** "`image/png`, `image/jpeg` → 5 MiB; the four image types → 20 MiB (…)" → type → bytes. */
function limitsIn(cell: string): Record<string, number> {
  const limits: Record<string, number> = {};
  for (const part of cell.replace(/\([^)]*\)/g, "").split(";")) {
    const [types, size] = part.split("→");
    const mib = Number(/([\d.]+) MiB/.exec(size ?? "")?.[1]);
    const named = /the four image types/.test(types ?? "")
      ? ["image/jpeg", "image/png", "image/webp", "image/heic"]
      : [...(types ?? "").matchAll(/`([^`]+)`/g)].map((m) => m[1]!);
    for (const type of named) limits[type] = mib * MiB;
  }
  return limits;
}

const READ_RULE_WORDS: Record<string, ReadRule> = {
  "the uploader, and coach or admin of the same org": "uploader-or-staff",
  "any member of the same org": "org-member",
  "admin of the same org, once under `records/`": "org-admin",
};

describe("the docs' tables follow the catalog", () => {
  it("docs/API.md's error table lists every code with its status, and nothing else", async () => {
    const rows = tableAfter(await readFile("docs/API.md", "utf8"), "## Errors");

    const documented = Object.fromEntries(rows.map(([status, code]) => [codesIn(code!)[0], Number(status)]));

    expect(rows).toHaveLength(Object.keys(HTTP_STATUS_BY_CODE).length);
    expect(documented).toEqual(HTTP_STATUS_BY_CODE);
  });

  it("the README's error table lists every code once, under its status", async () => {
    const rows = tableAfter(await readFile("README.md", "utf8"), "## Errors");

    const documented = rows.flatMap(([status, codes]) => codesIn(codes!).map((code) => [code, Number(status)] as const));

    expect(documented.map(([code]) => code).sort()).toEqual(Object.keys(HTTP_STATUS_BY_CODE).sort());
    expect(Object.fromEntries(documented)).toEqual(HTTP_STATUS_BY_CODE);
  });

  it("docs/API.md's owner-type table is the catalog's owner-type table", async () => {
    const rows = tableAfter(await readFile("docs/API.md", "utf8"), "## Owner types");

    const documented = Object.fromEntries(
      rows.map(([ownerType, presign, limits, bucket, read, publishable]) => [
        ownerType!.replaceAll("`", ""),
        {
          createRoles: presign!.startsWith("nobody") ? [] : presign!.split(", "),
          maxBytesByType: limitsIn(limits!),
          bucket,
          read: READ_RULE_WORDS[read!] ?? read,
          publishable: publishable === "**yes**",
        },
      ]),
    );

    // The video bounds have their own table, under "Video variants".
    const videoRows = tableAfter(
      await readFile("docs/API.md", "utf8"),
      "The bounds are per owner type (`video` in the owner-type table, `core/src/contract/catalog.ts`):",
    );
    for (const [ownerType, longest, largest] of videoRows) {
      const entry = documented[ownerType!.replaceAll("`", "")] as Record<string, unknown>;
      entry.video = { maxDurationSeconds: Number(longest!.replace(/ s$/, "")), maxPixels: Number(largest!.split(" ")[0]!.replaceAll(",", "")) };
    }

    expect(Object.keys(documented)).toEqual(OWNER_TYPES);
    expect(documented).toEqual(JSON.parse(JSON.stringify(OWNER_TYPE_POLICIES)));
  });

  it("the README names every internal operation of the function table", async () => {
    const readme = await readFile("README.md", "utf8");
    const sentence = /The internal operations are ([^—]+)—/.exec(readme)?.[1] ?? "";

    expect(codesInBackticks(sentence)).toEqual(INTERNAL_FUNCTION_KEYS);
  });
});

describe("docs/deploy.md follows the function table", () => {
  it("the R2 token table names, for each token link, exactly the functions linked to it", async () => {
    const rows = tableAfter(await readFile("docs/deploy.md", "utf8"), "## The R2 tokens (created by the stack)");

    const documented = Object.fromEntries(rows.map(([link, , , heldBy]) => [/`(\w+)`/.exec(link!)![1]!, codesInBackticks(heldBy!).sort()]));
    const linked = Object.fromEntries(
      Object.keys(documented).map((link) => [link, FUNCTION_KEYS.filter((key) => (FUNCTIONS[key] as FunctionSpec).links.includes(link as never)).sort()]),
    );

    expect(Object.keys(documented).sort()).toEqual(["PublicMedia", "R2ComplianceWriter", "R2MediaReader", "R2MediaWriter", "R2Reader", "R2RecordsWriter"]);
    expect(documented).toEqual(linked);
  });
});

describe("the SDK's docs follow its operations", () => {
  it("the SDK's README names every method and its package description every operation", async () => {
    const readme = await readFile("sdk/README.md", "utf8");
    const description = (JSON.parse(await readFile("sdk/package.json", "utf8")) as { description: string }).description;
    const method = (operation: string) => operation.replace(/-([a-z])/g, (_, letter: string) => letter.toUpperCase());

    const missing = {
      readme: [...UPLOADS_OPERATIONS.map(method), "eraseUntilComplete"].filter((name) => !readme.includes(`\`${name}\``)),
      description: UPLOADS_OPERATIONS.filter((operation) => !new RegExp(`[(, ]${operation}[,)]`).test(description)),
    };

    expect(missing).toEqual({ readme: [], description: [] });
  });
});

const codesInBackticks = (text: string) => [...text.matchAll(/`([a-z-]+)`/g)].map((match) => match[1]!);
