/**
 * The limits the mocks cannot show, checked against the numbers of the function table, the scanner
 * and the scan client: the scanner's reservation covers every scanning function scanning at once,
 * one scan call (all its attempts) ends inside consume's timeout, queue subscribers stay within
 * what an SQS event source accepts, and docs/deploy.md states the concurrency the stage reserves.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { SCAN_CLIENT, SDK_MAX_RETRY_DELAY_MS } from "../../functions/lib/scan-client.js";
import { TIME_LIMIT } from "../../functions/lib/time-limit.js";
import { requiredAccountConcurrency, stageReservations, totalReservedConcurrency, UNRESERVED_MINIMUM } from "../concurrency.js";
import { FUNCTION_KEYS, FUNCTIONS, type FunctionSpec, QUEUE_FUNCTION_KEYS, ROUTE_TIMEOUT_LIMIT_SECONDS, timeoutSeconds } from "../functions.js";
import { SCANNER_SETTINGS } from "../scanner.js";

const spec = (key: (typeof FUNCTION_KEYS)[number]): FunctionSpec => FUNCTIONS[key];
const scanning = FUNCTION_KEYS.filter((key) => (spec(key).links as readonly string[]).includes("ScannerFunction"));

describe("the scanner's reservation", () => {
  it("every function that scans has a reservation, so its scans are bounded", () => {
    expect(scanning.map((key) => ({ key, reserved: spec(key).reservedConcurrency !== undefined }))).toEqual(scanning.map((key) => ({ key, reserved: true })));
  });

  it("covers consume at its reservation scanning maxConcurrentScans each, plus the public signature functions scanning one each", () => {
    const demand = scanning.reduce((sum, key) => sum + spec(key).reservedConcurrency! * (key === "consume" ? SCAN_CLIENT.maxConcurrentScans : 1), 0);
    expect({ demand, reserved: SCANNER_SETTINGS.reservedConcurrency, covered: SCANNER_SETTINGS.reservedConcurrency >= demand }).toEqual({
      demand: 40,
      reserved: SCANNER_SETTINGS.reservedConcurrency,
      covered: true,
    });
  });
});

describe("the scan client's time budget", () => {
  it("waits a cold scanner out: one attempt lasts longer than the scanner's own timeout", () => {
    expect(SCAN_CLIENT.requestTimeoutMs).toBeGreaterThan(SCANNER_SETTINGS.timeoutSeconds * 1000);
  });

  it("all attempts with the SDK's longest backoff end before consume answers on its own (its timeout less the early reply)", () => {
    const worstMs =
      SCAN_CLIENT.maxAttempts * (SCAN_CLIENT.connectionTimeoutMs + SCAN_CLIENT.requestTimeoutMs) + (SCAN_CLIENT.maxAttempts - 1) * SDK_MAX_RETRY_DELAY_MS;
    const consumeBudgetMs = timeoutSeconds("consume") * 1000 - TIME_LIMIT.timeoutEarlyInMillis;
    expect({ worstMs, fits: worstMs < consumeBudgetMs }).toEqual({ worstMs: 214_000, fits: true });
  });
});

describe("routes behind API Gateway", () => {
  it("every routed function's timeout, from the table, is below API Gateway's 30-second integration limit", () => {
    const routed = FUNCTION_KEYS.filter((key) => spec(key).route);
    expect(routed.filter((key) => timeoutSeconds(key) >= ROUTE_TIMEOUT_LIMIT_SECONDS)).toEqual([]);
    expect(ROUTE_TIMEOUT_LIMIT_SECONDS).toBeLessThan(30);
  });
});

describe("queue subscribers", () => {
  it("reserve a concurrency an SQS event source's maximumConcurrency accepts (2–1000)", () => {
    for (const key of QUEUE_FUNCTION_KEYS) {
      const reserved = spec(key).reservedConcurrency;
      expect({ key, ok: reserved !== undefined && reserved >= 2 && reserved <= 1000 }).toEqual({ key, ok: true });
    }
  });
});

describe("the account concurrency a stage needs", () => {
  it("is every reservation plus the 100 AWS keeps unreserved, process-media's included", () => {
    expect(stageReservations()).toMatchObject({ "process-media": 10, consume: 10, scanner: SCANNER_SETTINGS.reservedConcurrency });
    expect(requiredAccountConcurrency()).toBe(totalReservedConcurrency() + UNRESERVED_MINIMUM);
  });

  it("docs/deploy.md states the total and each reservation as computed", () => {
    const docs = readFileSync(new URL("../../docs/deploy.md", import.meta.url), "utf8");
    expect(docs).toContain(`reserve **${totalReservedConcurrency()}** concurrent executions`);
    expect(docs).toContain(`at least **${requiredAccountConcurrency()}**`);
    // Table rows as Markdown reads them, whatever column padding a formatter gave them.
    const rows = new Map([...docs.matchAll(/^\|\s*`([\w-]+)`\s*\|\s*(\d+)\s*\|$/gm)].map((row) => [row[1], Number(row[2])]));
    for (const [name, reserved] of Object.entries(stageReservations())) expect({ name, reserved: rows.get(name) }).toEqual({ name, reserved });
  });
});
