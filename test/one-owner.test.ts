/**
 * One owner per limit and per success status: the upload limits are stated once in the catalog
 * (`core/src/contract/catalog.ts`, plain data the client bundles too) and the success statuses once
 * in the function table (`stacks/functions.ts`); every other module imports them. This reads the
 * source of core/src, functions, client, sdk/src, local and scripts (not tests, docs or builds) with
 * TypeScript's parser and fails, naming file:line, on a literal copy of an owned value.
 *
 * A copy is a number in code (a literal, or constant arithmetic such as `64 * 1024 * 1024` or
 * `8 * MiB`) or in a string's text ("1..10000", "10 000") whose value is an owned one, where the
 * code around it names the fact: the declarations it sits in (variable, property, function,
 * parameter names) or, for code, the expression it is part of. Small numbers serve many facts (10
 * SQS messages a batch, 100 percent), so each fact names its words: `10` is a copy of the presign
 * batch size only where "presign" is said, `100` of the part-URL limit only where "part" is.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import * as catalog from "@fitkit/core/contract/catalog";
import ts from "typescript";
import { describe, expect, it } from "vitest";
import { SUCCESS_STATUS } from "../stacks/functions.js";

const root = fileURLToPath(new URL("../", import.meta.url));
const SCANNED = ["core/src", "functions", "client", "sdk/src", "local", "scripts"];
const SERVER_SIDE = ["core/src", "functions", "sdk/src", "local", "scripts"];
const CATALOG = "core/src/contract/catalog.ts";
const FUNCTION_TABLE = "stacks/functions.ts";

interface OwnedFact {
  name: string;
  owner: string;
  value: number;
  /** Words that name the fact near a number; absent: the value itself is distinctive. */
  words?: RegExp;
  /** Where copies are looked for (default: everything scanned). */
  under?: readonly string[];
  /** Only the declarations' names count as context (a status is stated as `status: 201`, compared in `=== 200`). */
  namedOnly?: true;
}

const PART = /part/i;
const successStatuses = [...new Set(Object.values(SUCCESS_STATUS))];

const OWNED: readonly OwnedFact[] = [
  { name: "PRESIGN_MAX_FILES", owner: CATALOG, value: catalog.PRESIGN_MAX_FILES, words: /presign/i },
  { name: "MAX_PARTS_PER_SIGNING", owner: CATALOG, value: catalog.MAX_PARTS_PER_SIGNING, words: PART },
  { name: "MAX_PARTS", owner: CATALOG, value: catalog.MAX_PARTS, words: PART },
  { name: "MIN_PART_BYTES", owner: CATALOG, value: catalog.MIN_PART_BYTES, words: PART },
  { name: "MAX_PRESIGN_EXPIRES_SECONDS", owner: CATALOG, value: catalog.MAX_PRESIGN_EXPIRES_SECONDS, words: /expires|presign|url/i },
  { name: "DEFAULT_MULTIPART_THRESHOLD_BYTES", owner: CATALOG, value: catalog.DEFAULT_MULTIPART_THRESHOLD_BYTES, words: /multipart|threshold/i },
  { name: "DEFAULT_MULTIPART_PART_BYTES", owner: CATALOG, value: catalog.DEFAULT_MULTIPART_PART_BYTES, words: PART },
  // Stated (`status: 201`) where a handler, the API notes or the local stack answer it; client/ only
  // reports the status it was answered, and comparisons (`=== 204`, HTTP's own rules) are no statement.
  ...successStatuses.map(
    (status): OwnedFact => ({ name: `successStatus ${status}`, owner: FUNCTION_TABLE, value: status, words: /status/i, under: SERVER_SIDE, namedOnly: true }),
  ),
];

interface Copy {
  at: string;
  text: string;
  copies: string;
}

/** Every literal copy of an owned fact in `source` (the file at `path`, relative to the repository). */
function copiesIn(path: string, source: string, facts: readonly OwnedFact[] = OWNED): Copy[] {
  const applicable = facts.filter((fact) => fact.owner !== path && (fact.under ?? SCANNED).some((under) => path === under || path.startsWith(`${under}/`)));
  if (applicable.length === 0) return [];
  const file = ts.createSourceFile(path, source, ts.ScriptTarget.Latest, true);
  const constants = constantsOf(file);
  const found: Copy[] = [];
  const report = (node: ts.Node, value: number, inCode: boolean, text = node.getText(file)) => {
    for (const fact of applicable) {
      if (fact.value !== value) continue;
      const context = inCode && !fact.namedOnly ? `${namesAround(node)} ${expressionAround(node).getText(file)}` : namesAround(node);
      if (fact.words && !fact.words.test(context)) continue;
      found.push({ at: `${path}:${file.getLineAndCharacterOfPosition(node.getStart(file)).line + 1}`, text, copies: `${fact.name} (${fact.owner})` });
    }
  };
  const visit = (node: ts.Node): void => {
    if (isNumberExpression(node, constants) && !isNumberExpression(node.parent, constants) && containsLiteral(node)) {
      report(node, numberOf(node, constants), true);
      return;
    }
    if (ts.isStringLiteralLike(node) || ts.isTemplateHead(node) || ts.isTemplateMiddle(node) || ts.isTemplateTail(node)) {
      for (const match of node.text.matchAll(/\d{1,3}(?:[ _,]\d{3})+(?!\d)|\d+/g)) {
        report(node, Number(match[0].replace(/[ _,]/g, "")), false, match[0]);
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(file);
  return found;
}

/** `const MiB = 1024 * 1024` and the like: names whose value is constant arithmetic, file-wide. */
function constantsOf(file: ts.SourceFile): Map<string, number> {
  const constants = new Map<string, number>();
  const visit = (node: ts.Node): void => {
    if (ts.isVariableDeclaration(node) && ts.isIdentifier(node.name) && node.initializer && isNumberExpression(node.initializer, constants)) {
      constants.set(node.name.text, numberOf(node.initializer, constants));
    }
    ts.forEachChild(node, visit);
  };
  visit(file);
  return constants;
}

const ARITHMETIC = new Set([ts.SyntaxKind.AsteriskToken, ts.SyntaxKind.PlusToken, ts.SyntaxKind.MinusToken, ts.SyntaxKind.SlashToken]);

function isNumberExpression(node: ts.Node | undefined, constants: Map<string, number>): boolean {
  if (!node) return false;
  if (ts.isNumericLiteral(node)) return true;
  if (ts.isIdentifier(node)) return constants.has(node.text) && !ts.isVariableDeclaration(node.parent);
  if (ts.isParenthesizedExpression(node)) return isNumberExpression(node.expression, constants);
  if (ts.isPrefixUnaryExpression(node)) return node.operator === ts.SyntaxKind.MinusToken && isNumberExpression(node.operand, constants);
  if (ts.isBinaryExpression(node)) {
    return ARITHMETIC.has(node.operatorToken.kind) && isNumberExpression(node.left, constants) && isNumberExpression(node.right, constants);
  }
  return false;
}

function numberOf(node: ts.Node, constants: Map<string, number>): number {
  if (ts.isNumericLiteral(node)) return Number(node.text);
  if (ts.isIdentifier(node)) return constants.get(node.text)!;
  if (ts.isParenthesizedExpression(node)) return numberOf(node.expression, constants);
  if (ts.isPrefixUnaryExpression(node)) return -numberOf(node.operand, constants);
  const { left, right, operatorToken } = node as ts.BinaryExpression;
  const [a, b] = [numberOf(left, constants), numberOf(right, constants)];
  if (operatorToken.kind === ts.SyntaxKind.AsteriskToken) return a * b;
  if (operatorToken.kind === ts.SyntaxKind.PlusToken) return a + b;
  if (operatorToken.kind === ts.SyntaxKind.MinusToken) return a - b;
  return a / b;
}

/** A reference to a named constant alone (`MiB`) is no literal: only expressions that write a number. */
const containsLiteral = (node: ts.Node): boolean =>
  ts.isNumericLiteral(node) || (ts.forEachChild(node, (child) => containsLiteral(child) || undefined) ?? false);

/** The names of the declarations `node` sits in: variables, properties, functions, methods, parameters. */
function namesAround(node: ts.Node): string {
  const names: string[] = [];
  for (let at: ts.Node | undefined = node.parent; at; at = at.parent) {
    const name = (at as { name?: ts.Node }).name;
    if (name && (ts.isIdentifier(name) || ts.isStringLiteral(name) || ts.isPrivateIdentifier(name))) names.push(name.text);
  }
  return names.join(" ");
}

/** The whole expression `node` is part of, up to its statement, declaration or property. */
function expressionAround(node: ts.Node): ts.Node {
  let at = node;
  while (at.parent && ts.isExpression(at.parent) && !ts.isFunctionLike(at.parent) && !ts.isObjectLiteralExpression(at.parent)) at = at.parent;
  return at;
}

function sourceFiles(directory: string): string[] {
  return readdirSync(join(root, directory), { withFileTypes: true }).flatMap((entry) => {
    const path = join(directory, entry.name);
    if (entry.isDirectory()) return ["node_modules", "dist", "test"].includes(entry.name) ? [] : sourceFiles(path);
    return /\.(ts|tsx|mts|js|mjs)$/.test(entry.name) && !/\.(test|d)\.ts$/.test(entry.name) ? [path] : [];
  });
}

describe("one owner per limit and success status", () => {
  it("names each owned fact once, in its owner", () => {
    expect(OWNED.map((fact) => `${fact.name} = ${fact.value}`)).toEqual([
      "PRESIGN_MAX_FILES = 10",
      "MAX_PARTS_PER_SIGNING = 100",
      "MAX_PARTS = 10000",
      "MIN_PART_BYTES = 5242880",
      "MAX_PRESIGN_EXPIRES_SECONDS = 604800",
      "DEFAULT_MULTIPART_THRESHOLD_BYTES = 67108864",
      "DEFAULT_MULTIPART_PART_BYTES = 8388608",
      "successStatus 201 = 201",
      "successStatus 200 = 200",
      "successStatus 204 = 204",
    ]);
  });

  it("no module of core/src, functions, client, sdk/src, local or scripts copies one", () => {
    const files = SCANNED.flatMap(sourceFiles);
    expect(files.length).toBeGreaterThan(150);
    expect(files.flatMap((path) => copiesIn(relative(root, join(root, path)), readFileSync(join(root, path), "utf8")))).toEqual([]);
  });

  it("the check catches a planted copy of each, in code and in a string, and names file and line", () => {
    const planted = [
      "const PRESIGN_BATCH = 10;",
      "const presignRequest = z.object({ files: z.array(file).min(1).max(10) });",
      "const partsPerSigning = Math.min(100, Math.max(1, options.partsPerSigning ?? 20));",
      "export function validatePart(input) { if (input.partNumber > 10_000) throw new RangeError(`partNumber must be in 1..10000`); }",
      "const UPPY_MIN_PART_BYTES = 5 * 1024 * 1024;",
      "const settings = { presignTtlSeconds: positiveInt.max(7 * 24 * 3600, 'must be ≤ 604800') };",
      "const MiB = 1024 * 1024;",
      "const threshold = deps.settings.multipartThresholdBytes ?? 64 * MiB;",
      "const partBytes = deps.settings.multipartPartBytes ?? 8_388_608;",
    ].join("\n");
    expect(copiesIn("client/planted.ts", planted)).toEqual([
      { at: "client/planted.ts:1", text: "10", copies: `PRESIGN_MAX_FILES (${CATALOG})` },
      { at: "client/planted.ts:2", text: "10", copies: `PRESIGN_MAX_FILES (${CATALOG})` },
      { at: "client/planted.ts:3", text: "100", copies: `MAX_PARTS_PER_SIGNING (${CATALOG})` },
      { at: "client/planted.ts:4", text: "10_000", copies: `MAX_PARTS (${CATALOG})` },
      { at: "client/planted.ts:4", text: "10000", copies: `MAX_PARTS (${CATALOG})` },
      { at: "client/planted.ts:5", text: "5 * 1024 * 1024", copies: `MIN_PART_BYTES (${CATALOG})` },
      { at: "client/planted.ts:6", text: "7 * 24 * 3600", copies: `MAX_PRESIGN_EXPIRES_SECONDS (${CATALOG})` },
      { at: "client/planted.ts:6", text: "604800", copies: `MAX_PRESIGN_EXPIRES_SECONDS (${CATALOG})` },
      { at: "client/planted.ts:8", text: "64 * MiB", copies: `DEFAULT_MULTIPART_THRESHOLD_BYTES (${CATALOG})` },
      { at: "client/planted.ts:9", text: "8_388_608", copies: `DEFAULT_MULTIPART_PART_BYTES (${CATALOG})` },
    ]);
  });

  it("catches a planted success status in a handler, the API notes and the local stack, not in the table itself", () => {
    const handler = "export const handler = authenticatedRoute(async (identity) => ({\n  status: 201,\n  body: await presign(identity),\n}));";
    const notes = 'export const OPERATION_DOCS = { presign: { summary: "Presign uploads", successStatus: 201 } };';
    const local = "export const INTERNAL_SUCCESS_STATUS = { consume: 200, sweeper: 200 };";
    expect([
      ...copiesIn("functions/presign.ts", handler),
      ...copiesIn("scripts/openapi/operations.ts", notes),
      ...copiesIn("local/functions.ts", local),
    ]).toEqual([
      { at: "functions/presign.ts:2", text: "201", copies: `successStatus 201 (${FUNCTION_TABLE})` },
      { at: "scripts/openapi/operations.ts:1", text: "201", copies: `successStatus 201 (${FUNCTION_TABLE})` },
      { at: "local/functions.ts:1", text: "200", copies: `successStatus 200 (${FUNCTION_TABLE})` },
      { at: "local/functions.ts:1", text: "200", copies: `successStatus 200 (${FUNCTION_TABLE})` },
    ]);
    expect(copiesIn(FUNCTION_TABLE, "export const SUCCESS_STATUS = { presign: 201 };")).toEqual([]);
    expect(copiesIn(CATALOG, "export const PRESIGN_MAX_FILES = 10;")).toEqual([]);
  });

  it("leaves the same numbers alone where they state other facts, and the owners' names where they are used", () => {
    const otherFacts = [
      "export const MAX_MESSAGES_PER_BATCH = 10;",
      "const percent = allDone ? 100 : Math.floor(fraction * 100);",
      "const CANCEL_TIMEOUT_MS = 10_000;",
      "export const MAX_SOURCE_BYTES = 64 * 1024 * 1024;",
      "const partsPerSigning = Math.min(MAX_PARTS_PER_SIGNING, options.partsPerSigning ?? 20);",
      "const files = z.array(file).max(PRESIGN_MAX_FILES);",
      "res.writeHead(200, { 'content-type': 'text/html' });",
    ].join("\n");
    expect(copiesIn("local/other.ts", otherFacts)).toEqual([]);
    expect(copiesIn("client/status.ts", "throw new UploadClientError('BAD_RESPONSE', 'not the contract', { status: 201 });")).toEqual([]);
  });
});
