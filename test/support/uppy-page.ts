/**
 * An app that uploads with Uppy through the FitKit adapter (client/uppy.ts), for the browser test:
 * `@uppy/core` + `@uppy/aws-s3`, and `@uppy/golden-retriever` with its service worker when the
 * config asks. Bundled by esbuild in the test; reads `window.uppyPageConfig`, mirrors what Uppy
 * reports on `window.uppyPage`, and picks files from `#files`.
 */
import AwsS3 from "@uppy/aws-s3";
import Uppy from "@uppy/core";
import GoldenRetriever from "@uppy/golden-retriever";
import type { UploadedFile } from "../../client/uploader.js";
import { fitkitAwsS3, fitkitUploadOf } from "../../client/uppy.js";

interface PageState {
  status: "idle" | "uploading" | "done" | "error";
  /** The adapter's uploads of the files Uppy reported successful. */
  uploaded: UploadedFile[];
  /** `upload-success` response bodies, as Uppy hands them to the app. */
  bodies: unknown[];
  partsUploaded: number[];
  errors: string[];
  /** Golden Retriever restored files after a reload: their names, sizes and whether the bytes came back. */
  restored: { name: string; size: number | null; isGhost: boolean; hasData: boolean; uploadId?: string }[] | null;
}

declare global {
  interface Window {
    uppyPageConfig: { apiBaseUrl: string; token: string; ownerType: "exercise_comment" | "progress_photo"; goldenRetriever: boolean; partsPerSigning?: number };
    uppyPage: PageState;
    /** What the Dashboard's "resume" button does: continue the restored upload. */
    confirmRestore(): void;
    /** What the Dashboard's "cancel" button does: stop and remove every file. */
    cancelAll(): void;
  }
}

window.uppyPage = { status: "idle", uploaded: [], bodies: [], partsUploaded: [], errors: [], restored: null };

async function start() {
  const config = window.uppyPageConfig;
  if (config.goldenRetriever) {
    // Golden Retriever keeps large files' bytes in its service worker (IndexedDB only takes small ones).
    await navigator.serviceWorker.register("/uppy/sw.js");
    await navigator.serviceWorker.ready;
    if (!navigator.serviceWorker.controller)
      await new Promise((resolve) => navigator.serviceWorker.addEventListener("controllerchange", resolve, { once: true }));
  }
  const page = window.uppyPage;
  const uppy = new Uppy({ autoProceed: false });
  uppy.use(AwsS3, {
    ...fitkitAwsS3(uppy, {
      apiBaseUrl: config.apiBaseUrl,
      getToken: () => config.token,
      ownerType: config.ownerType,
      ...(config.partsPerSigning ? { partsPerSigning: config.partsPerSigning } : {}),
    }),
    limit: 4,
  });
  uppy.on("upload-success", (file, response) => {
    if (!file) return;
    page.uploaded.push(fitkitUploadOf(uppy.getFile(file.id))!);
    page.bodies.push(response.body);
  });
  uppy.on("s3-multipart:part-uploaded", (_file, part) => page.partsUploaded.push(part.PartNumber));
  uppy.on("upload-error", (_file, error) => page.errors.push(String(error)));
  uppy.on("error", (error) => page.errors.push(String(error)));
  uppy.on("complete", (result) => {
    page.status = (result.failed ?? []).length === 0 && page.errors.length === 0 ? "done" : "error";
  });
  if (config.goldenRetriever) {
    uppy.on("restored", () => {
      page.restored = uppy.getFiles().map((file) => ({
        name: file.name,
        size: file.size,
        isGhost: file.isGhost,
        hasData: file.data instanceof Blob && file.data.size === file.size,
        ...(fitkitUploadOf(file) ? { uploadId: fitkitUploadOf(file)!.uploadId } : {}),
      }));
    });
    uppy.use(GoldenRetriever, { serviceWorker: true });
  }
  window.confirmRestore = () => {
    page.status = "uploading";
    uppy.emit("restore-confirmed");
  };

  window.cancelAll = () => uppy.cancelAll();

  const input = document.getElementById("files") as HTMLInputElement;
  input.addEventListener("change", () => {
    for (const file of Array.from(input.files ?? [])) uppy.addFile({ name: file.name, type: file.type, data: file, source: "input" });
    page.status = "uploading";
    uppy.upload().catch((error: unknown) => {
      page.errors.push(String(error));
      page.status = "error";
    });
  });
  document.body.dataset.ready = "true";
}

start().catch((error: unknown) => window.uppyPage.errors.push(String(error)));
