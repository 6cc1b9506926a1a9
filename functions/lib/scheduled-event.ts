/**
 * The payload of a scheduled invocation — one owner for its shape: the deployed schedule sends it
 * (`stacks/api.ts` via `stacks/functions.ts`), the local stack's timer sends it, and the sweeper
 * tells a scheduled run (which fails loudly) from an internal invoke (which returns `{ error }`).
 * EventBridge Scheduler (CronV2) delivers exactly this JSON, shaped like an EventBridge scheduled
 * event. Plain data: importable by the stacks without SST's globals.
 */
export const SCHEDULED_EVENT = { source: "aws.events", "detail-type": "Scheduled Event", detail: {} } as const;

export function isScheduledEvent(event: unknown): boolean {
  return typeof event === "object" && event !== null && (event as { source?: unknown }).source === SCHEDULED_EVENT.source;
}
