/** The scanner image's configuration: environment variables set by stacks/scanner.ts, parsed once. */
import * as z from "zod";

const schema = z.object({
  AWS_LAMBDA_RUNTIME_API: z.string().min(1),
  /** The SST stage: a dimension of the scanner's metrics (the alarms watch this stage's). */
  STAGE: z.string().min(1),
  /** The S3 bucket the scheduled freshclam run publishes to and the scanners load from. */
  DEFINITIONS_BUCKET: z.string().min(3),
  /** Scan URLs must be https on a host ending with this. */
  SOURCE_HOST_SUFFIX: z.string().min(1).default(".r2.cloudflarestorage.com"),
  /** clamd's StreamMaxLength: at least the largest scanMaxBytes of any stage. */
  SCAN_STREAM_MAX_BYTES: z.coerce.number().int().positive().default(104_857_600),
  /** A clean verdict needs definitions built at most this long ago (the daily database's build time). */
  DEFINITIONS_MAX_AGE_HOURS: z.coerce.number().positive().default(48),
  /** A container re-reads the bucket's definitions when its copy is older than this. */
  DEFINITIONS_REFRESH_SECONDS: z.coerce.number().int().positive().default(3600),
  CLAMD_BIN: z.string().default("/usr/sbin/clamd"),
  FRESHCLAM_BIN: z.string().default("/usr/bin/freshclam"),
  /** Writable scratch space (Lambda: /tmp, sized by the function's ephemeral storage). */
  WORK_DIRECTORY: z.string().default("/tmp/scanner"),
  /** A private ClamAV mirror for freshclam; ClamAV's own when unset. */
  FRESHCLAM_MIRROR: z.string().optional(),
});

export type ScannerConfig = z.output<typeof schema>;

export function readConfig(env: NodeJS.ProcessEnv): ScannerConfig {
  const result = schema.safeParse(env);
  if (!result.success) {
    throw new Error(`Invalid scanner configuration — ${result.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`).join("; ")}`);
  }
  return result.data;
}
