/**
 * A daily ClamAV database with a build time of the test's choosing, which a real clamd loads as it
 * loads the official daily.cvd/.cld — so the scanner's staleness check is tested against clamd's own
 * VERSION reply, not a value we hand it (support/clamd.ts puts one in every test clamd).
 *
 * The official containers are signed (a .cvd's header and a .cld's `daily.info` carry ClamAV's
 * signature), so a test cannot forge them. A `.cud` is the same container, unsigned (libclamav
 * cvd.c, cli_cvdload: CVD_TYPE_CUD loads with CL_DB_UNSIGNED), and clamd takes the database version
 * and build time from any file named `daily.*`. The layout (libclamav cvd.c and readdb.c,
 * cli_loadinfo): a 512-byte header `ClamAV-VDB:<time>:<version>:<signatures>:<functionality
 * level>:<md5>:<dsig>:<builder>:<build time, Unix seconds>` padded with spaces, then a gzipped tar
 * whose `daily.info` repeats the header line and lists each database file as `name:size:sha256`;
 * the loader refuses the container unless both headers agree.
 */
import { createHash } from "node:crypto";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { gzipSync } from "node:zlib";

export interface DailyDatabaseOptions {
  builtAt: Date;
  /** Body signatures (.ndb lines) to put in it; at least one. */
  ndb: string[];
  version?: number;
}

export async function writeDailyDatabase(directory: string, options: DailyDatabaseOptions): Promise<string> {
  const seconds = Math.floor(options.builtAt.getTime() / 1000);
  const ndb = Buffer.from(`${options.ndb.join("\n")}\n`);
  const header = [
    "ClamAV-VDB",
    headerTime(options.builtAt),
    String(options.version ?? 27_000),
    String(options.ndb.length),
    "90",
    "unsigned",
    "unsigned",
    "fitkit-tests",
    String(seconds),
  ].join(":");
  const info = Buffer.from(`${header}\ndaily.ndb:${ndb.length}:${createHash("sha256").update(ndb).digest("hex")}\n`);
  const container = Buffer.concat([
    Buffer.from(header.padEnd(512, " ")),
    gzipSync(
      tar([
        ["daily.info", info],
        ["daily.ndb", ndb],
      ]),
    ),
  ]);
  const path = join(directory, "daily.cud");
  await writeFile(path, container);
  return path;
}

/** The header's human-readable time, as sigtool writes it: `04 Dec 2026 03-38 +0000`. */
function headerTime(date: Date): string {
  const [, day, month, year, time] = /^\w{3}, (\d{2}) (\w{3}) (\d{4}) (\d{2}:\d{2})/.exec(date.toUTCString())!;
  return `${day} ${month} ${year} ${time!.replace(":", "-")} +0000`;
}

/** A ustar archive of regular files (POSIX.1-1988: 512-byte headers, contents padded to 512). */
function tar(files: [name: string, body: Buffer][]): Buffer {
  const blocks: Buffer[] = [];
  for (const [name, body] of files) {
    const header = Buffer.alloc(512);
    const field = (offset: number, length: number, value: string) => header.write(value, offset, length, "latin1");
    const octal = (offset: number, length: number, value: number) => field(offset, length, `${value.toString(8).padStart(length - 1, "0")}\0`);
    field(0, 100, name);
    octal(100, 8, 0o644);
    octal(108, 8, 0);
    octal(116, 8, 0);
    octal(124, 12, body.length);
    octal(136, 12, 0);
    field(148, 8, "        ");
    field(156, 1, "0");
    field(257, 6, "ustar\0");
    field(263, 2, "00");
    let sum = 0;
    for (const byte of header) sum += byte;
    field(148, 8, `${sum.toString(8).padStart(6, "0")}\0 `);
    blocks.push(header, body, Buffer.alloc((512 - (body.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}
