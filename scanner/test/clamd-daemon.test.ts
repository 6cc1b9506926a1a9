/**
 * The scanner container's own clamd, started by our code from the real clamd binary: the generated
 * config loads the definitions directory, answers scans, picks up new definitions on reload, and a
 * start that cannot succeed says why instead of hanging.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { ClamdScanner } from "@fitkit/core/adapters/clamd/clamd-scanner";
import { afterAll, describe, expect, it } from "vitest";
import { freePort, makeTempDir, removeTempDir } from "../../support/child-processes.js";
import { EICAR } from "../../support/clamd.js";
import { writeDailyDatabase } from "../../support/clamd-databases.js";
import { type ClamdDaemon, clamdConfig, startClamdDaemon } from "../src/clamd-daemon.js";

const CLAMD = "/usr/sbin/clamd";
const dirs: string[] = [];
const daemons: ClamdDaemon[] = [];

async function definitions(signatures: Record<string, string>): Promise<{ work: string; db: string }> {
  const work = await makeTempDir("fitkit-scanner-");
  dirs.push(work);
  const db = join(work, "db");
  await mkdir(db);
  for (const [file, line] of Object.entries(signatures)) await writeFile(join(db, file), `${line}\n`);
  return { work, db };
}
const bodySignature = (name: string, bytes: string) => `${name}:0:*:${Buffer.from(bytes, "latin1").toString("hex")}`;

async function* once(bytes: Uint8Array) {
  yield bytes;
}

afterAll(async () => {
  for (const daemon of daemons) await daemon.stop();
  for (const dir of dirs) await removeTempDir(dir);
});

describe("startClamdDaemon", () => {
  it("starts clamd on the definitions directory and scans with it; a reload loads new definitions", async () => {
    const { work, db } = await definitions({ "eicar.ndb": bodySignature("Scanner.Test.EICAR", EICAR) });
    const daemon = await startClamdDaemon({ binary: CLAMD, databaseDirectory: db, workDirectory: work, port: await freePort(), streamMaxBytes: 1_000_000 });
    daemons.push(daemon);
    const scanner = new ClamdScanner({ host: daemon.host, port: daemon.port });
    const marker = "FITKIT-NEW-DEFINITION-MARKER-0123456789";

    expect(await scanner.scan(once(Buffer.from(`x${EICAR}`, "latin1")))).toEqual({ clean: false, signature: "Scanner.Test.EICAR.UNOFFICIAL" });
    expect(await scanner.scan(once(Buffer.from(marker)))).toEqual({ clean: true });

    await writeFile(join(db, "marker.ndb"), `${bodySignature("Scanner.Test.Marker", marker)}\n`);
    await daemon.reload();
    // clamd reloads in the background; scans wait for the new engine.
    await expect
      .poll(() => scanner.scan(once(Buffer.from(marker))), { timeout: 20_000, interval: 200 })
      .toEqual({ clean: false, signature: "Scanner.Test.Marker.UNOFFICIAL" });
  });

  it("tells the loaded daily database's build time (clamd runs with TZ=UTC only, so its VERSION time reads exactly)", async () => {
    const { work, db } = await definitions({ "eicar.ndb": bodySignature("Scanner.Test.EICAR", EICAR) });
    const builtAt = new Date("2026-11-30T23:59:58Z");
    await writeDailyDatabase(db, { builtAt, ndb: [bodySignature("Scanner.Test.Daily", "FITKIT-DAILY-MARKER-41")] });
    const daemon = await startClamdDaemon({ binary: CLAMD, databaseDirectory: db, workDirectory: work, port: await freePort(), streamMaxBytes: 1024 });
    daemons.push(daemon);

    expect(await daemon.definitionsBuiltAt()).toEqual(builtAt);
  });

  it("refuses a stream longer than the configured limit instead of passing it", async () => {
    const { work, db } = await definitions({ "eicar.ndb": bodySignature("Scanner.Test.EICAR", EICAR) });
    const daemon = await startClamdDaemon({ binary: CLAMD, databaseDirectory: db, workDirectory: work, port: await freePort(), streamMaxBytes: 1024 });
    daemons.push(daemon);

    await expect(new ClamdScanner({ host: daemon.host, port: daemon.port }).scan(once(Buffer.alloc(256 * 1024)))).rejects.toThrow(/scanner/);
  });

  it("fails with clamd's exit when the definitions directory holds no database", async () => {
    const { work, db } = await definitions({});
    await expect(startClamdDaemon({ binary: CLAMD, databaseDirectory: db, workDirectory: work, port: await freePort(), streamMaxBytes: 1024 })).rejects.toThrow(
      /^clamd exited \(code \d+\) before answering$/,
    );
  });

  it("writes a config for an unprivileged, loopback-only clamd", () => {
    const config = clamdConfig({ binary: CLAMD, databaseDirectory: "/tmp/s/db", workDirectory: "/tmp/s", port: 3310, streamMaxBytes: 100 });
    expect(config.split("\n")).toEqual(
      expect.arrayContaining(["TCPSocket 3310", "TCPAddr 127.0.0.1", "DatabaseDirectory /tmp/s/db", "StreamMaxLength 100", "MaxFileSize 100"]),
    );
    expect(config).not.toMatch(/^User /m);
  });
});
