/**
 * A small React app for the browser test of `useUpload` (client/react.ts): a file input, a cancel
 * button and what the hook reports. Bundled by esbuild in the test; reads its API origin and session
 * token from `window.uploadPageConfig` and mirrors the hook's state on `window.uploadPage`.
 */
import { createElement as h, useEffect } from "react";
import { createRoot } from "react-dom/client";
import { useUpload } from "../../client/react.js";

interface PageState {
  status: string;
  /** Every total percent the hook reported, in order. */
  percents: number[];
  files: { loaded: number; total: number; state: string }[];
  uploadIds: string[];
  error: { code: string; status: number } | null;
}

declare global {
  interface Window {
    uploadPageConfig: { apiBaseUrl: string; token: string };
    uploadPage: PageState;
  }
}

window.uploadPage = { status: "idle", percents: [], files: [], uploadIds: [], error: null };

function App() {
  const config = window.uploadPageConfig;
  const { upload, abort, status, progress, files, uploadIds, error } = useUpload({
    ownerType: "progress_photo",
    apiBaseUrl: config.apiBaseUrl,
    getToken: () => config.token,
  });

  useEffect(() => {
    const page = window.uploadPage;
    if (progress && page.percents.at(-1) !== progress.percent) page.percents.push(progress.percent);
    Object.assign(page, {
      status,
      files: files.map((f) => ({ loaded: f.loaded, total: f.total, state: f.state })),
      uploadIds,
      error: error && { code: error.code, status: error.status },
    });
  });

  return h(
    "main",
    null,
    h("input", {
      id: "files",
      type: "file",
      multiple: true,
      onChange: (event: { currentTarget: HTMLInputElement }) => void upload(event.currentTarget.files!),
    }),
    h("button", { id: "abort", type: "button", onClick: abort }, "Cancel"),
    h("progress", { id: "total", max: 100, value: progress?.percent ?? 0 }),
    h("output", { id: "status" }, status),
    h(
      "ul",
      { id: "upload-ids" },
      uploadIds.map((id) => h("li", { key: id }, id)),
    ),
    error ? h("p", { id: "error", "data-code": error.code }, error.message) : null,
  );
}

createRoot(document.getElementById("root")!).render(h(App));
