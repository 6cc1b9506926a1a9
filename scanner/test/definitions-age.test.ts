/**
 * Stale definitions never call anything clean, and every scan that gives no verdict is counted.
 * On a real clamd holding a daily database built when each test says (support/clamd-databases.ts):
 * the build time is read back from clamd's own VERSION reply, so the check sees what clamd loaded.
 */
import { ClamdScanner } from "@fitkit/core/adapters/clamd/clamd-scanner";
import type { ScanReply } from "@fitkit/core/adapters/lambda/scanner-protocol";
import { afterAll, describe, expect, it } from "vitest";
import { type ClamdServer, EICAR, EICAR_SIGNATURE, startClamd } from "../../support/clamd.js";
import { parseVersionReply, readDefinitionsBuiltAt } from "../src/clamd-daemon.js";
import { SCANNER_METRICS } from "../src/metric-names.js";
import { createScannerMetrics } from "../src/metrics.js";
import { handleScanRequest } from "../src/scan.js";

const HOUR = 3600;
const started: ClamdServer[] = [];
afterAll(async () => {
  await Promise.all(started.map((clamd) => clamd.close()));
});

async function clamdBuilt(builtAt: Date | null): Promise<ClamdServer> {
  const clamd = await startClamd({ definitionsBuiltAt: builtAt });
  started.push(clamd);
  return clamd;
}
const hoursAgo = (hours: number) => new Date(Math.floor(Date.now() / 1000 - hours * HOUR) * 1000);
const scan = (clamd: ClamdServer, content: string, maxAgeHours = 48) =>
  handleScanRequest(
    {
      scanner: async () => new ClamdScanner({ host: clamd.host, port: clamd.port }),
      sourceHostSuffix: "127.0.0.1",
      definitions: { builtAt: () => readDefinitionsBuiltAt(clamd), maxAgeSeconds: maxAgeHours * HOUR },
    },
    { bytesBase64: Buffer.from(content, "latin1").toString("base64") },
  );

describe("the definitions' build time", () => {
  it("is read from clamd's VERSION reply, to the second", async () => {
    const builtAt = new Date("2026-03-04T05:06:07Z");
    expect(await readDefinitionsBuiltAt(await clamdBuilt(builtAt))).toEqual(builtAt);
  });

  it("is unknown when clamd has no daily database", async () => {
    expect(await readDefinitionsBuiltAt(await clamdBuilt(null))).toBeNull();
  });

  it("parses both forms of the reply and refuses anything else", () => {
    expect(parseVersionReply("ClamAV 1.4.6/27777/Fri Dec  4 03:38:34 2026")).toEqual({
      engine: "1.4.6",
      databaseVersion: 27777,
      builtAt: new Date("2026-12-04T03:38:34Z"),
    });
    expect(parseVersionReply("ClamAV 1.4.6")).toEqual({ engine: "1.4.6", databaseVersion: null, builtAt: null });
    expect(() => parseVersionReply("UNKNOWN COMMAND")).toThrow('unexpected VERSION reply from clamd: "UNKNOWN COMMAND"');
  });
});

describe("a scan on definitions older than the limit (default 48 h)", () => {
  it("is an error, not clean, and says why", async () => {
    const builtAt = hoursAgo(72);
    expect(await scan(await clamdBuilt(builtAt), "a clean file")).toEqual({
      verdict: "error",
      cause: "stale-definitions",
      reason: `the virus definitions are stale (built ${builtAt.toISOString()}, 72 h ago; at most 48 h): a clean verdict is refused`,
    });
  });

  it("still reports a detection: old definitions that find something are right about it", async () => {
    expect(await scan(await clamdBuilt(hoursAgo(72)), EICAR)).toEqual({ verdict: "infected", signature: EICAR_SIGNATURE });
  });

  it("is clean under the limit, and the limit is configurable", async () => {
    expect(await scan(await clamdBuilt(hoursAgo(47)), "a clean file")).toEqual({ verdict: "clean" });
    expect(await scan(await clamdBuilt(hoursAgo(72)), "a clean file", 96)).toEqual({ verdict: "clean" });
  });

  it("without a daily database the age is unknown: an error, not clean", async () => {
    expect(await scan(await clamdBuilt(null), "a clean file")).toEqual({
      verdict: "error",
      cause: "stale-definitions",
      reason: "the loaded definitions have no build time (no daily database): a clean verdict is refused",
    });
  });
});

/** One embedded-metric-format document (CloudWatch's EMF specification). */
interface Emf {
  _aws: { CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string; Unit: string }[] }[] };
  [member: string]: unknown;
}

/** The EMF documents `action` writes to stdout (where Lambda's log — and CloudWatch's metric extraction — reads them). */
function emfDuring(action: () => void): Emf[] {
  const lines: string[] = [];
  const write = process.stdout.write;
  process.stdout.write = ((chunk: string | Uint8Array) => {
    lines.push(String(chunk));
    return true;
  }) as typeof process.stdout.write;
  try {
    action();
  } finally {
    process.stdout.write = write;
  }
  return lines
    .flatMap((text) => text.split("\n"))
    .filter((line) => line.includes('"_aws"'))
    .map((line) => JSON.parse(line) as Emf);
}

describe("the scanner's metrics", () => {
  const metrics = createScannerMetrics("metrics-stage");
  const emitted = (reply: ScanReply) =>
    emfDuring(() => metrics.scanned(reply)).map((emf) => ({
      namespace: emf._aws.CloudWatchMetrics[0]?.Namespace,
      // CloudWatch matches an alarm to a metric only on the exact dimension set: the alarms use these two.
      dimensions: emf._aws.CloudWatchMetrics[0]?.Dimensions.map((set) => [...set].sort()),
      service: emf.service,
      stage: emf.stage,
      values: Object.fromEntries((emf._aws.CloudWatchMetrics[0]?.Metrics ?? []).map((m) => [m.Name, emf[m.Name]])),
    }));
  const base = { namespace: SCANNER_METRICS.namespace, dimensions: [["service", "stage"]], service: "scanner", stage: "metrics-stage" };

  it("count every error reply — an invocation that succeeded without a verdict — and stale refusals apart", () => {
    expect(emitted({ verdict: "error", reason: "clamd is not available: the definitions bucket is empty" })).toEqual([
      { ...base, values: { [SCANNER_METRICS.scanErrors]: 1 } },
    ]);
    expect(emitted({ verdict: "error", reason: "stale", cause: "stale-definitions" })).toEqual([
      { ...base, values: { [SCANNER_METRICS.scanErrors]: 1, [SCANNER_METRICS.staleDefinitions]: 1 } },
    ]);
  });

  it("write nothing for a verdict", () => {
    expect(emitted({ verdict: "clean" })).toEqual([]);
    expect(emitted({ verdict: "infected", signature: "X" })).toEqual([]);
  });

  it("count each completed definitions update", () => {
    const [emf, ...more] = emfDuring(() => metrics.definitionsUpdated());
    expect(more).toEqual([]);
    expect({ names: emf?._aws.CloudWatchMetrics[0]?.Metrics, value: emf?.[SCANNER_METRICS.definitionsUpdated], stage: emf?.stage }).toEqual({
      names: [{ Name: SCANNER_METRICS.definitionsUpdated, Unit: "Count" }],
      value: 1,
      stage: "metrics-stage",
    });
  });
});
