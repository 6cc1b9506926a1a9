/**
 * The image recipe against what the code expects of it. (No container engine runs in CI; the image
 * itself was built with podman from a Debian trixie base — see docs/deploy.md.) A Dockerfile edit
 * that drops a package, moves the bundle, or copies a path the ignore file leaves out fails here.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { SCANNER_ROLES } from "../src/roles.js";

const dockerfile = readFileSync(new URL("../Dockerfile", import.meta.url), "utf8").replace(/\\\n/g, " ");
const ignore = readFileSync(new URL("../Dockerfile.dockerignore", import.meta.url), "utf8");
const stages = dockerfile.split(/^FROM /m).slice(1);
const runtime = stages.at(-1)!;

describe("scanner/Dockerfile", () => {
  it("builds on Debian in both stages", () => {
    expect(
      stages.map((stage) =>
        stage
          .split("\n")[0]!
          .replace(/ AS \w+$/, "")
          .replace("--platform=$BUILDPLATFORM ", ""),
      ),
    ).toEqual(["debian:trixie-slim", "debian:trixie-slim"]);
  });

  it("installs Debian's ClamAV daemon, freshclam and Node in the image that runs", () => {
    const packages = /apt-get install -y --no-install-recommends ([^&]+)/.exec(runtime)?.[1]?.trim().split(/\s+/);
    expect(packages).toEqual(expect.arrayContaining(["nodejs", "clamav", "clamav-daemon", "clamav-freshclam", "ca-certificates"]));
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
