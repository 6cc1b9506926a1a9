/**
 * The whole app for one stage: secrets → buckets → scanner → links (and the R2 tokens) → media
 * worker → functions and API → alarms.
 * `sst.config.ts` calls this with the stage's config; the wiring tests call it with theirs.
 */
import { createAlarms } from "./alarms.js";
import { createApi, physicalFunctionName } from "./api.js";
import { FUNCTIONS, INTERNAL_FUNCTION_KEYS } from "./functions.js";
import { createLinks } from "./links.js";
import { createMediaWorker } from "./media-worker.js";
import { createQueues } from "./queues.js";
import { createScanner } from "./scanner.js";
import { createSecrets } from "./secrets.js";
import { isProductionStage, type StageConfig } from "./stage-config.js";
import { createStorage, NON_PRODUCTION_RECORDS_RETENTION_SECONDS, RECORDS_RETENTION_SECONDS } from "./storage.js";

export async function createUploadsApp(config: StageConfig) {
  const production = isProductionStage($app.stage);
  const retain = $app.removal !== "remove";
  const secrets = createSecrets();
  const storage = createStorage({
    accountId: secrets.R2AccountId.value,
    jurisdiction: config.r2Jurisdiction,
    appOrigins: config.appOrigins,
    publicMediaDomain: config.publicMediaDomain,
    retain,
    production,
  });
  const queues = createQueues();
  const scanner = await createScanner({
    functionName: `${$app.name}-${$app.stage}-scanner`,
    streamMaxBytes: config.uploadSettings.scanMaxBytes,
    retain,
  });
  // The records' retention is the bucket lock's (storage.ts), never configured apart from it: an erasure receipt dates retained records with it.
  const recordsRetentionSeconds = production ? RECORDS_RETENTION_SECONDS : NON_PRODUCTION_RECORDS_RETENTION_SECONDS;
  const uploadSettings = { ...config.uploadSettings, recordsRetentionSeconds };
  const links = createLinks({
    secrets,
    storage,
    scanner: scanner.scanner,
    queues,
    uploadSettings,
    publicMediaDomain: config.publicMediaDomain,
    jurisdiction: config.r2Jurisdiction,
  });
  const mediaWorker = await createMediaWorker({
    functionName: physicalFunctionName("process-media"),
    spec: FUNCTIONS["process-media"],
    links,
    queueArn: queues.MediaQueue.arn,
    retain,
    logRetention: config.logRetention,
  });
  const { api, functions } = createApi({ links, queues, config, imageFunctions: { "process-media": mediaWorker.fn } });
  const alarms = createAlarms({
    api,
    orphanAudit: functions["orphan-audit"],
    consume: functions.consume,
    sweeper: functions.sweeper,
    scanner: scanner.scanner,
    scannerDefinitions: scanner.updater,
    processMedia: functions["process-media"],
    mediaQueue: queues.MediaQueue,
    mediaDeadLetterQueue: queues.mediaDeadLetter,
    emails: config.alarmEmails,
  });

  // Printed by `sst deploy`; other services invoke the internal functions by these names.
  return {
    api: api.url,
    mediaBucket: storage.media.name,
    complianceBucket: storage.compliance.name,
    recordsBucket: storage.records.name,
    publicMediaBucket: storage.publicMedia.name,
    publicBaseUrl: storage.publicBaseUrl,
    mediaDeadLetterQueue: queues.mediaDeadLetter.url,
    functions: Object.fromEntries(Object.entries(functions).map(([key, fn]) => [key, fn.name])),
    // Operation → function name: what `lambdaTransport({ functionNames })` of @fitkit/uploads-sdk takes.
    internalFunctions: Object.fromEntries(INTERNAL_FUNCTION_KEYS.map((key) => [key, functions[key].name])),
    scanner: scanner.scanner.name,
    scannerDefinitionsUpdate: scanner.updater.name,
    scannerDefinitionsBucket: scanner.definitions.name,
    alarmsTopic: alarms.topic.arn,
  };
}
