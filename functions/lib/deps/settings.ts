import { lazy } from "../lazy.js";
import { readLinked } from "../resources.js";

export const uploadSettings = lazy(() => readLinked("UploadSettings", "UploadSettings"));
