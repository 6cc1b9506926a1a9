/**
 * Type-checks the upload client as browsers and React Native run it: without Node's types, so a
 * Node-only API used in client/ is a compile error. The core modules the client reads types from
 * (its contract's schemas) are checked by the main `tsc` run with Node's types; here only errors in
 * client/ count — the package build writes those types out in full, without core.
 */
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const config = ts.getParsedCommandLineOfConfigFile(join(ROOT, "client/tsconfig.json"), {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => undefined });
if (!config) throw new Error("client/tsconfig.json could not be read");
const program = ts.createProgram(config.fileNames, config.options);
const errors = ts.getPreEmitDiagnostics(program).filter((d) => !d.file || relative(ROOT, d.file.fileName).startsWith("client/"));
if (errors.length) {
  console.error(ts.formatDiagnosticsWithColorAndContext(errors, { getCanonicalFileName: (f) => f, getCurrentDirectory: () => ROOT, getNewLine: () => "\n" }));
  process.exit(1);
}
