import { lazy } from "../lazy.js";
import { readLinked } from "../resources.js";

export const uploadSettings = lazy(() => readLinked("UploadSettings", "UploadSettings"));

/** The bound on every storage and Redis call (`UploadSettings.dependencyTimeoutMs`), as the adapters take it. */
export const dependencyTimeout = (): { timeoutMs: number } => ({ timeoutMs: uploadSettings().dependencyTimeoutMs });
