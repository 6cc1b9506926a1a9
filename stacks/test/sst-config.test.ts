/**
 * The real sst.config.ts, for a stage without its own entry in STAGES (a personal or preview
 * stage): it synthesises with the development defaults and grants nobody invoke on the internal
 * functions.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { deployedFunctions, invokePermissions, ofType, routeTable, TYPES, theOne } from "./harness/queries.js";
import { type Synthesis, synthesize } from "./harness/synthesize.js";

const SECRETS = {
  R2AccountId: "00112233445566778899aabbccddeeff",
  UpstashRedisRestUrl: "https://ci.upstash.io",
  UpstashRedisRestToken: "token",
  ClerkJwtKey: "-----BEGIN PUBLIC KEY-----k-----END PUBLIC KEY-----",
  ClerkAuthorizedParties: "http://localhost:3000",
};

let app: Synthesis;

beforeAll(async () => {
  app = await synthesize({ stage: "ci", secrets: SECRETS });
});

describe("sst.config.ts on a development stage", () => {
  it("deploys the eleven routes", () => {
    expect(Object.keys(routeTable(app)).sort()).toEqual([
      "DELETE /uploads/{uploadId}",
      "GET /health",
      "GET /uploads/policy",
      "GET /uploads/{uploadId}/parts",
      "POST /public/signatures/{token}/complete",
      "POST /public/signatures/{token}/uploads",
      "POST /uploads",
      "POST /uploads/signed-urls",
      "POST /uploads/{uploadId}/complete",
      "POST /uploads/{uploadId}/parts",
      "PUT /public/signatures/{token}",
    ]);
  });

  it("grants no caller invoke on the internal functions", () => {
    const internal = [...deployedFunctions(app).values()].filter(
      (fn) => !Object.values(routeTable(app)).includes(fn.handler) && fn.handler !== "functions/process-media.handler",
    );
    expect(internal).toHaveLength(12);
    for (const fn of internal) expect({ handler: fn.handler, permissions: invokePermissions(app, fn) }).toEqual({ handler: fn.handler, permissions: [] });
  });

  it("allows the local app origin in CORS (the public bucket: any origin)", () => {
    const publicBucket = theOne(app, TYPES.r2Bucket, (b) => b.name === "PublishedBucket").state.name;
    for (const cors of ofType(app, TYPES.r2Cors)) {
      expect(cors.inputs.rules[0].allowed.origins).toEqual(cors.inputs.bucketName === publicBucket ? ["*"] : ["http://localhost:3000"]);
    }
    expect(theOne(app, TYPES.api).inputs.corsConfiguration.allowOrigins).toEqual(["http://localhost:3000"]);
  });

  it("on R2's r2.dev domain has no edge cache to purge, and asks for no purge token (it is not among SECRETS)", () => {
    const unpublish = deployedFunctions(app).get("functions/unpublish.handler");
    expect(unpublish?.build.links.PublicMedia).toMatchObject({ cachePurge: null });
  });

  it("scans with the stage's own scanner Lambda", () => {
    const consume = deployedFunctions(app).get("functions/consume.handler");
    expect(consume?.build.links.ScannerFunction).toMatchObject({ name: "fitkit-uploads-ci-scanner" });
  });

  it("throttles with the default settings (public routes tighter)", () => {
    const stage = theOne(app, TYPES.stage);
    expect({ default: stage.inputs.defaultRouteSettings, routes: stage.inputs.routeSettings }).toEqual({
      default: { throttlingRateLimit: 200, throttlingBurstLimit: 400 },
      routes: [
        { routeKey: "PUT /public/signatures/{token}", throttlingRateLimit: 20, throttlingBurstLimit: 40 },
        { routeKey: "POST /public/signatures/{token}/uploads", throttlingRateLimit: 20, throttlingBurstLimit: 40 },
        { routeKey: "POST /public/signatures/{token}/complete", throttlingRateLimit: 20, throttlingBurstLimit: 40 },
      ],
    });
  });

  it("links the default upload settings", () => {
    const presign = deployedFunctions(app).get("functions/presign.handler");
    expect(presign?.build.links.UploadSettings).toMatchObject({
      presignTtlSeconds: 600,
      stagingGraceSeconds: 3600,
      orgQuotaBytes: 10_737_418_240,
      presignRatePerMinute: 60,
      publicPutRatePerMinute: 20,
      scanMaxBytes: 104_857_600,
    });
  });

  it("serves the public bucket on R2's managed r2.dev domain (no custom domain configured), and links that base URL", () => {
    const publicBucket = theOne(app, TYPES.r2Bucket, (b) => b.name === "PublishedBucket").state.name;
    const managed = theOne(app, TYPES.r2ManagedDomain);
    expect(managed.inputs).toMatchObject({ bucketName: publicBucket, enabled: true });
    expect(ofType(app, TYPES.r2CustomDomain)).toEqual([]);
    expect(deployedFunctions(app).get("functions/publish.handler")?.build.links.PublicMedia).toMatchObject({
      name: publicBucket,
      baseUrl: `https://${managed.state.domain}/`,
    });
  });

  it("names resources after the app and stage", () => {
    expect(app.outputs.functions).toMatchObject({ consume: "fitkit-uploads-ci-consume" });
    expect(app.outputs.mediaBucket).toMatch(/^fitkit-uploads-ci-mediabucket/);
  });
});
