/**
 * The processing queue inside one process (the local stack): jobs are delivered to the subscriber
 * asynchronously, as SQS-shaped records, never inside the enqueue call — like the deployed queue.
 * Records the subscriber reports failed are redelivered, up to `maxReceives` deliveries in all
 * (the deployed queue's dead-letter threshold), then dropped with a warning.
 */
import { randomUUID } from "node:crypto";
import { DependencyUnavailableError } from "../../errors.js";
import type { Log } from "../../logging.js";
import { type JobQueue, MEDIA_JOB_MAX_RECEIVES } from "../../media/job-queue.js";
import { encodeMediaJob, type MediaJob } from "../../media/media-variants.js";

export interface QueueRecord {
  messageId: string;
  body: string;
  /** How many times this record has been delivered, this one included. */
  receiveCount: number;
}

/** Answers the records that failed (SQS's partial batch response). */
export type QueueSubscriber = (records: QueueRecord[]) => Promise<{ failedMessageIds: string[] }>;

export class InProcessJobQueue implements JobQueue {
  private subscriber: QueueSubscriber | null = null;
  private inFlight = new Set<Promise<void>>();

  constructor(private readonly options: { maxReceives: number; log?: Log } = { maxReceives: MEDIA_JOB_MAX_RECEIVES }) {}

  subscribe(subscriber: QueueSubscriber): void {
    this.subscriber = subscriber;
  }

  async enqueue(jobs: MediaJob[]): Promise<void> {
    if (!this.subscriber) throw new DependencyUnavailableError("queue");
    // One job per delivery, like the deployed subscription (batch size 1).
    for (const job of jobs) this.track(this.deliver([{ messageId: randomUUID(), body: encodeMediaJob(job), receiveCount: 1 }]));
  }

  /** Resolves once every delivery (and redelivery) so far has finished. */
  async drained(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  private track(delivery: Promise<void>): void {
    this.inFlight.add(delivery);
    void delivery.finally(() => this.inFlight.delete(delivery));
  }

  private async deliver(records: QueueRecord[]): Promise<void> {
    await new Promise((resolve) => setImmediate(resolve));
    let failed: Set<string>;
    try {
      failed = new Set((await this.subscriber!(records)).failedMessageIds);
    } catch {
      failed = new Set(records.map((r) => r.messageId));
    }
    const retry = records.filter((r) => failed.has(r.messageId));
    const dead = retry.filter((r) => r.receiveCount >= this.options.maxReceives);
    if (dead.length > 0) this.options.log?.warn("media jobs failed every delivery (the dead-letter queue would keep them)", { jobs: dead.map((r) => r.body) });
    const again = retry.filter((r) => r.receiveCount < this.options.maxReceives).map((r) => ({ ...r, receiveCount: r.receiveCount + 1 }));
    if (again.length > 0) this.track(this.deliver(again));
  }
}
