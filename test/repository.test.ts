/**
 * The repository explains itself: no tracked file points at documents outside it. The contract
 * and the design live in docs/API.md and docs/ARCHITECTURE.md; a link to a sibling folder or to
 * a planning document that is not in the repository is dead for every other reader.
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("..", import.meta.url));

/** Built from parts so this file does not contain what it looks for. */
const outside = ["..", "shared"].join("/");
const NEEDLES = [outside, ...["API", "DESIGN", "HARNESS", "STYLE"].map((name) => ["shared", `${name}.md`].join("/"))];

/** CI's own scripts may name paths of the machine they run on. */
const EXEMPT = /^\.ci\//;

function trackedFiles(): string[] {
  return execFileSync("git", ["ls-files", "-z"], { cwd: root, encoding: "utf8" })
    .split("\0")
    .filter((path) => path !== "" && !EXEMPT.test(path));
}

function readText(path: string): string | null {
  try {
    const bytes = readFileSync(`${root}${path}`);
    return bytes.includes(0) ? null : bytes.toString("utf8"); // binary files cannot carry a link
  } catch {
    return null; // tracked but deleted in the working tree
  }
}

describe("the repository", () => {
  it("has no tracked file outside .ci/ that points at documents outside it", () => {
    const files = trackedFiles();
    const hits = files.flatMap((path) => {
      const text = readText(path);
      if (text === null) return [];
      return text.split("\n").flatMap((line, index) => (NEEDLES.some((needle) => line.includes(needle)) ? [`${path}:${index + 1}: ${line.trim()}`] : []));
    });

    expect(files.length).toBeGreaterThan(50);
    expect(hits).toEqual([]);
  });

  it("has the documents the README points to", () => {
    const readme = readText("README.md") ?? "";

    const docs = ["docs/API.md", "docs/ARCHITECTURE.md", "docs/deploy.md"].map((doc) => ({
      doc,
      linked: readme.includes(`](${doc})`),
      written: (readText(doc)?.length ?? 0) > 1000,
    }));

    expect(docs).toEqual(docs.map(({ doc }) => ({ doc, linked: true, written: true })));
  });

  it("has commit subjects of at most 72 characters since the convention was adopted (after 6a1b473)", () => {
    // git log --oneline reads as the history only if subjects fit a line; the why goes in the body.
    const subjects = execFileSync("git", ["log", "--format=%s", "6a1b473..HEAD"], { cwd: root, encoding: "utf8" }).split("\n").filter(Boolean);

    expect(subjects.length).toBeGreaterThan(0);
    expect(subjects.filter((subject) => subject.length > 72)).toEqual([]);
  });
});
