/// <reference path="./.sst/platform/config.d.ts" />

// SST 4 forbids top-level imports here: the modules under stacks/ are imported inside run().
export default $config({
  app(input) {
    const production = input?.stage === "production";
    return {
      name: "fitkit-uploads",
      home: "aws",
      removal: production ? "retain" : "remove",
      protect: production,
      // The versions SST 4.17.1's platform ships with, so `sst install` needs nothing else.
      providers: {
        aws: { version: "7.20.0" },
        cloudflare: "6.15.0",
      },
    };
  },
  async run() {
    const { resolveStageConfig } = await import("./stacks/stage-config.js");
    const { createUploadsApp } = await import("./stacks/app.js");
    return createUploadsApp(resolveStageConfig($app.stage));
  },
});
