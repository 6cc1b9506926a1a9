/**
 * Builds an installable package (`@fitkit/uploads-client` in client/, `@fitkit/uploads-sdk` in
 * sdk/) into its `dist/`: ESM JavaScript bundled by esbuild (core's plain-data catalog inlined,
 * third-party packages left to the app) and type declarations emitted by tsc that need nothing of
 * this repository at install time.
 *
 * Each package has one contract module (client/contract.ts, sdk/src/operations.ts) whose types are
 * derived from core's zod schemas and use-cases. Its declarations are replaced by the types the
 * checker resolves them to, written out in full — so the installed types follow the server's
 * schemas without a hand-written copy, and reference neither core nor zod. Core's catalog
 * (plain data) ships as its own declaration file. The build fails if any declaration still
 * imports something that is not shipped or a declared dependency.
 *
 * Run by each package's `prepack` (so `npm pack` builds) and by `npm run build:packages`.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import ts from "typescript";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
/** The core modules a package may carry: plain code with no imports (test/client-bundle.test.ts). */
export const SHIPPED_CORE = ["core/src/contract/catalog.ts", "core/src/contract/backoff.ts"];
const CATALOG = SHIPPED_CORE[0]!;

export interface PackageSpec {
  /** The package's directory, relative to the repository. */
  dir: string;
  /** Entry point name (→ dist/<name>.js) → source file, relative to the repository. */
  entries: Record<string, string>;
  /** The module whose types are derived from core's schemas, written out in full in its declarations. */
  contractModule: string;
  /** Bare imports the package leaves to the app (its dependencies and peers). */
  external: string[];
  platform: "neutral" | "node";
}

export const PACKAGES: Record<"client" | "sdk", PackageSpec> = {
  client: {
    dir: "client",
    entries: { index: "client/index.ts", react: "client/react.ts", uppy: "client/uppy.ts" },
    contractModule: "client/contract.ts",
    external: ["react", "@uppy/core", "@uppy/aws-s3"],
    platform: "neutral",
  },
  sdk: {
    dir: "sdk",
    entries: { index: "sdk/src/index.ts" },
    contractModule: "sdk/src/operations.ts",
    external: ["@aws-sdk/client-lambda"],
    platform: "node",
  },
};

const isExternal = (spec: PackageSpec, specifier: string) => spec.external.some((name) => specifier === name || specifier.startsWith(`${name}/`));

/** Builds `spec` into `<dir>/dist` (emptied first); returns the files written, relative to dist. */
export async function buildPackage(spec: PackageSpec): Promise<string[]> {
  const dist = join(ROOT, spec.dir, "dist");
  rmSync(dist, { recursive: true, force: true });
  const result = await build({
    absWorkingDir: ROOT,
    entryPoints: Object.entries(spec.entries).map(([out, source]) => ({ in: source, out })),
    outdir: dist,
    bundle: true,
    // One copy of each shared module across entries: `instanceof UploadClientError` holds between them.
    splitting: true,
    chunkNames: "chunks/[name]-[hash]",
    format: "esm",
    platform: spec.platform,
    target: "es2022",
    external: spec.external,
    metafile: true,
    logLevel: "silent",
  });
  const foreign = Object.keys(result.metafile.inputs).filter((input) => !input.startsWith(`${spec.dir}/`) && !SHIPPED_CORE.includes(input));
  if (foreign.length)
    throw new Error(`${spec.dir}: the bundle carries ${foreign.join(", ")}; only the package's own modules and ${SHIPPED_CORE.join(", ")} may be inlined.`);
  const written = Object.keys(result.metafile.outputs).map((file) => relative(dist, join(ROOT, file)));
  return [...written, ...emitDeclarations(spec, dist)];
}

/** Declarations for the entries, under dist/types/ as laid out in the repository. */
function emitDeclarations(spec: PackageSpec, dist: string): string[] {
  const config = ts.getParsedCommandLineOfConfigFile(join(ROOT, "tsconfig.json"), {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => undefined });
  if (!config) throw new Error("tsconfig.json could not be read");
  const options: ts.CompilerOptions = {
    ...config.options,
    noEmit: false,
    declaration: true,
    emitDeclarationOnly: true,
    allowImportingTsExtensions: false,
    rootDir: ROOT,
    outDir: join(dist, "types"),
  };
  // Core's shipped modules are roots too: reached through node_modules/@fitkit/core, tsc would not emit them.
  const program = ts.createProgram(
    [...Object.values(spec.entries), ...SHIPPED_CORE].map((entry) => join(ROOT, entry)),
    options,
  );
  // Type errors in the sources are `npm run typecheck`'s; here only what the declarations need.

  const files = new Map<string, string>();
  for (const source of program.getSourceFiles()) {
    const path = relative(ROOT, source.fileName);
    if (!isShipped(spec, path)) continue;
    program.emit(source, (fileName, text) => {
      if (fileName.endsWith(".d.ts")) files.set(fileName, text);
    });
  }
  const contractOut = join(dist, "types", spec.contractModule.replace(/\.ts$/, ".d.ts"));
  files.set(contractOut, resolvedContract(program, spec, contractOut));

  const written: string[] = [];
  for (const [fileName, text] of files) {
    const rewritten = rewriteImports(spec, fileName, text);
    mkdirSync(dirname(fileName), { recursive: true });
    writeFileSync(fileName, rewritten);
    written.push(relative(dist, fileName));
  }
  checkSelfContained(spec, options, [...files.keys()]);
  return written;
}

/**
 * Type-checks the written declarations as an app would see them: nothing of this repository is
 * reachable but `dist/` (core, zod and the package's sources are hidden), third-party packages are.
 */
function checkSelfContained(spec: PackageSpec, options: ts.CompilerOptions, declarations: string[]): void {
  const hidden = (path: string) => {
    const inRepo = relative(ROOT, resolve(path));
    if (inRepo.startsWith("..")) return false;
    if (inRepo === "node_modules" || inRepo.startsWith("node_modules/")) return /^node_modules\/(@fitkit|zod)(\/|$)/.test(inRepo);
    return !inRepo.startsWith(`${spec.dir}/dist/`);
  };
  const checkOptions: ts.CompilerOptions = { ...options, noEmit: true, declaration: false, emitDeclarationOnly: false, skipLibCheck: false, types: [] };
  delete checkOptions.rootDir;
  delete checkOptions.outDir;
  const host = ts.createCompilerHost(checkOptions);
  const { fileExists, readFile, directoryExists } = host;
  host.fileExists = (path) => !hidden(path) && fileExists(path);
  host.readFile = (path) => (hidden(path) ? undefined : readFile(path));
  host.directoryExists = (path) => !/\/node_modules\/(@fitkit|zod)(\/|$)/.test(path) && (directoryExists?.(path) ?? true);
  const program = ts.createProgram(declarations, checkOptions, host);
  const errors = [
    ...program.getGlobalDiagnostics(),
    ...declarations.flatMap((file) => {
      const source = program.getSourceFile(file);
      return source ? [...program.getSyntacticDiagnostics(source), ...program.getSemanticDiagnostics(source)] : [];
    }),
  ];
  if (errors.length)
    throw new Error(
      `${spec.dir}/dist's declarations do not stand alone:\n${ts.formatDiagnostics(errors, { getCanonicalFileName: (f) => f, getCurrentDirectory: () => ROOT, getNewLine: () => "\n" })}`,
    );
}

/** The package's own sources and the catalog ship as declarations; the rest of core never does. */
const isShipped = (spec: PackageSpec, path: string) => (path.startsWith(`${spec.dir}/`) && !path.includes(".test.")) || SHIPPED_CORE.includes(path);

/**
 * The contract module's declarations with every exported type alias replaced by the type the
 * checker resolves it to (zod's `output<…>`, `Awaited<ReturnType<…>>` and `Omit<…>` gone), its
 * imports of core and zod dropped, and the catalog's names imported where the result uses them.
 */
function resolvedContract(program: ts.Program, spec: PackageSpec, outFile: string): string {
  const checker = program.getTypeChecker();
  const source = program.getSourceFile(join(ROOT, spec.contractModule));
  if (!source) throw new Error(`${spec.contractModule} is not part of ${spec.dir}'s entries`);
  const printer = ts.createPrinter({ newLine: ts.NewLineKind.LineFeed });
  const flags =
    ts.NodeBuilderFlags.NoTruncation | ts.NodeBuilderFlags.InTypeAlias | ts.NodeBuilderFlags.MultilineObjectLiterals | ts.NodeBuilderFlags.IgnoreErrors;
  const out: string[] = [`// Generated by scripts/packages/build.ts from ${spec.contractModule}: the types core's schemas resolve to.`];
  const body: string[] = [];
  for (const statement of source.statements) {
    if (ts.isImportDeclaration(statement)) continue;
    const exported = ts.canHaveModifiers(statement) && ts.getModifiers(statement)?.some((m) => m.kind === ts.SyntaxKind.ExportKeyword);
    const doc = ts
      .getJSDocCommentsAndTags(statement)
      .map((node) => node.getFullText().trim())
      .join("\n");
    if (ts.isTypeAliasDeclaration(statement) && exported) {
      if (statement.typeParameters) throw new Error(`${spec.contractModule}: generic alias ${statement.name.text} cannot be written out`);
      const node = checker.typeToTypeNode(checker.getTypeAtLocation(statement.name), undefined, flags);
      if (!node) throw new Error(`${spec.contractModule}: ${statement.name.text} has no printable type`);
      body.push(`${doc ? `${doc}\n` : ""}export type ${statement.name.text} = ${printer.printNode(ts.EmitHint.Unspecified, node, source)};`);
    } else if (ts.isVariableStatement(statement) && exported) {
      const declarations = statement.declarationList.declarations.map((declaration) => {
        const node = checker.typeToTypeNode(checker.getTypeAtLocation(declaration.name), undefined, flags);
        return `${declaration.name.getText(source)}: ${node ? printer.printNode(ts.EmitHint.Unspecified, node, source) : "unknown"}`;
      });
      body.push(`${doc ? `${doc}\n` : ""}export declare const ${declarations.join(", ")};`);
    } else if (exported) {
      throw new Error(`${spec.contractModule}: only exported type aliases and constants are written out, not "${statement.getText(source).slice(0, 60)}"`);
    }
  }
  const text = body.join("\n");
  const catalog = readCatalogTypeNames().filter((name) => new RegExp(`\\b${name}\\b`).test(text));
  const catalogPath = relativeModule(outFile, join(dirname(outFile), relative(dirname(join(ROOT, spec.contractModule)), join(ROOT, CATALOG))));
  if (catalog.length) out.push(`import type { ${catalog.join(", ")} } from "${catalogPath}";`);
  return `${out.join("\n")}\n\n${text}\n`;
}

/** The catalog's exported type names (what a resolved type may still refer to by name). */
function readCatalogTypeNames(): string[] {
  const text = readFileSync(join(ROOT, CATALOG), "utf8");
  return [...text.matchAll(/export (?:type|interface) (\w+)/g)].map((m) => m[1]!);
}

const relativeModule = (fromFile: string, toTs: string) => {
  const path = relative(dirname(fromFile), toTs).replace(/\.(d\.)?ts$/, ".js");
  return path.startsWith(".") ? path : `./${path}`;
};

/** `@fitkit/core/contract/…` → the shipped declarations; any other unshipped import fails the build. */
function rewriteImports(spec: PackageSpec, fileName: string, text: string): string {
  const typesRoot = join(ROOT, spec.dir, "dist", "types");
  return text.replace(/(from\s+|import\()"([^"]+)"/g, (whole, lead: string, specifier: string) => {
    if (specifier.startsWith(".")) return whole;
    const core = SHIPPED_CORE.find((path) => `@fitkit/${path.replace("/src/", "/").replace(/\.ts$/, "")}` === specifier);
    if (core) return `${lead}"${relativeModule(fileName, join(typesRoot, core))}"`;
    if (isExternal(spec, specifier)) return whole;
    throw new Error(`${relative(ROOT, fileName)} still imports "${specifier}", which the installed package does not have.`);
  });
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const names = process.argv.slice(2).length ? process.argv.slice(2) : Object.keys(PACKAGES);
  for (const name of names) {
    const spec = PACKAGES[name as keyof typeof PACKAGES];
    if (!spec) throw new Error(`unknown package "${name}" (one of ${Object.keys(PACKAGES).join(", ")})`);
    if (!existsSync(join(ROOT, spec.dir, "package.json"))) throw new Error(`${spec.dir}/package.json is missing`);
    const files = await buildPackage(spec);
    console.log(`${spec.dir}/dist: ${files.length} files`);
  }
}
