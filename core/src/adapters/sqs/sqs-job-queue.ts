/** The processing queue on SQS: SendMessageBatch, 10 jobs per request (SQS's limit). */
import { DependencyUnavailableError } from "../../errors.js";
import type { JobQueue } from "../../media/job-queue.js";
import { encodeMediaJob, type MediaJob } from "../../media/media-variants.js";
import type { MessageBatchSender } from "./sqs-http-client.js";

export const MAX_MESSAGES_PER_BATCH = 10;

export class SqsJobQueue implements JobQueue {
  constructor(
    private readonly sqs: MessageBatchSender,
    private readonly queueUrl: string,
  ) {}

  /** Every job accepted, or DependencyUnavailableError("queue") — a partial batch failure included. */
  async enqueue(jobs: MediaJob[]): Promise<void> {
    for (let start = 0; start < jobs.length; start += MAX_MESSAGES_PER_BATCH) {
      const batch = jobs.slice(start, start + MAX_MESSAGES_PER_BATCH);
      let failed: number;
      try {
        const reply = await this.sqs.sendMessageBatch(
          this.queueUrl,
          batch.map((job, i) => ({ id: String(i), body: encodeMediaJob(job) })),
        );
        failed = reply.failed.length;
      } catch (error) {
        throw new DependencyUnavailableError("queue", { cause: error });
      }
      if (failed > 0) throw new DependencyUnavailableError("queue", { cause: new Error(`${failed} of ${batch.length} messages refused`) });
    }
  }
}
