/**
 * The image recipe against what the code expects of it. (No container engine runs in CI; the image
 * itself was built with podman from a Debian trixie base — see docs/deploy.md.) The base image and
 * ClamAV are pinned, and the pinned ClamAV is the release the tests' own clamd runs. A Dockerfile edit
 * that drops a package, moves the bundle, or copies a path the ignore file leaves out fails here.
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { SCANNER_ROLES } from "../src/roles.js";

const dockerfile = readFileSync(new URL("../Dockerfile", import.meta.url), "utf8").replace(/\\\n/g, " ");
const ignore = readFileSync(new URL("../Dockerfile.dockerignore", import.meta.url), "utf8");
const stages = dockerfile.split(/^FROM /m).slice(1);
const runtime = stages.at(-1)!;
const CLAMD = "/usr/sbin/clamd";
/** A Dockerfile variable reference, as the file spells it. */
const dockerVariable = (name: string) => ["$", "{", name, "}"].join("");

const arg = (name: string) => new RegExp(`^ARG ${name}=(\\S+)$`, "m").exec(dockerfile)?.[1];
const runtimePackages = () =>
  /apt-get install -y --no-install-recommends ([^&]+)/
    .exec(runtime)?.[1]
    ?.trim()
    .split(/\s+/)
    .map((entry) => entry.split("="));

describe("scanner/Dockerfile", () => {
  it("builds both stages on one Debian trixie base pinned by digest (the same bytes on every build)", () => {
    expect(arg("BASE_IMAGE")).toMatch(/^debian:trixie-slim@sha256:[0-9a-f]{64}$/);
    expect(
      stages.map((stage) =>
        stage
          .split("\n")[0]!
          .replace(/ AS \w+$/, "")
          .replace("--platform=$BUILDPLATFORM ", ""),
      ),
    ).toEqual([dockerVariable("BASE_IMAGE"), dockerVariable("BASE_IMAGE")]);
  });

  it("installs Debian's ClamAV daemon, freshclam and Node in the image that runs", () => {
    expect(runtimePackages()?.map(([name]) => name)).toEqual(
      expect.arrayContaining(["nodejs", "clamav", "clamav-daemon", "clamav-freshclam", "ca-certificates"]),
    );
  });

  it("pins ClamAV and its engine library to one exact Debian version, of the engine the tests run", () => {
    const version = arg("CLAMAV_VERSION");
    expect(version).toMatch(/^\d+\.\d+\.\d+\+dfsg-[\w.~+]+$/);
    expect(runtime).toMatch(/^ARG CLAMAV_VERSION$/m);
    const pinned = Object.fromEntries((runtimePackages() ?? []).filter(([, pin]) => pin !== undefined));
    const pin = dockerVariable("CLAMAV_VERSION");
    expect(pinned).toEqual({ clamav: pin, "clamav-daemon": pin, "clamav-freshclam": pin, "clamav-base": pin, libclamav12: pin });
    // The tests' clamd (Debian's, on this machine) is the same upstream release as the image's.
    const tested = /^ClamAV (\d+\.\d+\.\d+)/.exec(execFileSync(CLAMD, ["--version"], { encoding: "utf8", env: {} }))?.[1];
    expect(version?.split("+")[0]).toBe(tested);
  });

  it("bundles scanner/src/main.ts to the file the entry point runs, with the scan role by default", () => {
    const outfile = /--outfile=(\S+)/.exec(dockerfile)?.[1];
    const copied = /COPY --from=build (\S+) (\S+)/.exec(runtime);
    expect(dockerfile).toMatch(/esbuild scanner\/src\/main\.ts /);
    expect(copied?.[1]).toBe(outfile);
    expect(runtime).toContain(`ENTRYPOINT ["/usr/bin/node", "${copied?.[2]}"]`);
    expect(runtime).toContain(`CMD ["${SCANNER_ROLES.scan}"]`);
  });

  it("points the scanner at Debian's binaries and a writable /tmp", () => {
    expect(runtime).toMatch(/ENV WORK_DIRECTORY=\/tmp\/\S+ CLAMD_BIN=\/usr\/sbin\/clamd FRESHCLAM_BIN=\/usr\/bin\/freshclam/);
  });

  it("copies only paths that its ignore file lets into the build context", () => {
    const sources = [...dockerfile.matchAll(/^COPY (?!--from)(.+) \S+$/gm)].flatMap((match) => match[1]!.split(/\s+/));
    const allowed = ignore
      .split("\n")
      .filter((line) => line.startsWith("!"))
      .map((line) => line.slice(1));
    expect(sources.filter((source) => !allowed.includes(source))).toEqual([]);
  });
});
