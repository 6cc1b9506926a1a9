/** The processing queue on SQS: SendMessageBatch, 10 jobs per request (SQS's limit). */
import { SendMessageBatchCommand, type SQSClient } from "@aws-sdk/client-sqs";
import { DependencyUnavailableError } from "../../errors.js";
import type { JobQueue } from "../../media/job-queue.js";
import { encodeMediaJob, type MediaJob } from "../../media/media-variants.js";

export const MAX_MESSAGES_PER_BATCH = 10;

export class SqsJobQueue implements JobQueue {
  constructor(
    private readonly client: SQSClient,
    private readonly queueUrl: string,
  ) {}

  /** Every job accepted, or DependencyUnavailableError("queue") — a partial batch failure included. */
  async enqueue(jobs: MediaJob[]): Promise<void> {
    for (let start = 0; start < jobs.length; start += MAX_MESSAGES_PER_BATCH) {
      const batch = jobs.slice(start, start + MAX_MESSAGES_PER_BATCH);
      let failed: number;
      try {
        const reply = await this.client.send(
          new SendMessageBatchCommand({
            QueueUrl: this.queueUrl,
            Entries: batch.map((job, i) => ({ Id: String(i), MessageBody: encodeMediaJob(job) })),
          }),
        );
        failed = reply.Failed?.length ?? 0;
      } catch (error) {
        throw new DependencyUnavailableError("queue", { cause: error });
      }
      if (failed > 0) throw new DependencyUnavailableError("queue", { cause: new Error(`${failed} of ${batch.length} messages refused`) });
    }
  }
}
