/**
 * The Lambda concurrency a stage reserves, computed from the function table (stacks/functions.ts)
 * and the scanner's settings (stacks/scanner.ts) — what docs/deploy.md states and what
 * `npm run preflight` holds against the account's limit.
 *
 * Plain data: importable without SST globals.
 */
import { type FunctionKey, reservedConcurrencyOf } from "./functions.js";
import { SCANNER_SETTINGS } from "./scanner.js";

/**
 * AWS keeps this much of the account's concurrency unreserved: "you can reserve up to the
 * Unreserved account concurrency value minus 100" (Lambda developer guide, "Configuring reserved
 * concurrency"). A deploy whose reservations leave less is refused.
 */
export const UNRESERVED_MINIMUM = 100;

/** Every reservation of a stage: the table's functions, the scanner and its definitions update. */
export function stageReservations(): Record<FunctionKey | "scanner" | "scanner-definitions", number> {
  return {
    ...(reservedConcurrencyOf() as Record<FunctionKey, number>),
    scanner: SCANNER_SETTINGS.reservedConcurrency,
    "scanner-definitions": SCANNER_SETTINGS.definitionsReservedConcurrency,
  };
}

export function totalReservedConcurrency(): number {
  return Object.values(stageReservations()).reduce((sum, reserved) => sum + reserved, 0);
}

/** The smallest account concurrency limit (Service Quotas → Lambda → Concurrent executions) a stage deploys into. */
export function requiredAccountConcurrency(): number {
  return totalReservedConcurrency() + UNRESERVED_MINIMUM;
}
