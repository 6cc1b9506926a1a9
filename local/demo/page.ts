/**
 * The demo page's script (bundled with the client by esbuild; runs in the browser). Plain DOM,
 * no framework. Its state is on `window.fitkitDemo` for the browser test and for poking around.
 * The signature section is its own module (signature-pad.ts), bundled in with this one.
 */
import { createUploader, isUploadClientError, type OwnerType, type UploadedFile, type UploadProgress } from "../../client/index.js";
import { el, formatBytes, h, postJson, setStatus } from "./dom.js";
import type { DemoConfig, DemoOwnerType } from "./page-html.js";
import { initialSignatureState, mountSignaturePad, type SignatureState } from "./signature-pad.js";

type Phase = "idle" | "uploading" | "uploaded" | "linking" | "linked" | "error";

interface DemoState {
  token: string | null;
  identity: { userId: string; orgId: string | null; role: string } | null;
  ownerType: string;
  /** The owner type the pending uploads were presigned for (what /dev/link must consume them as). */
  uploadedAs: string | null;
  phase: Phase;
  /** Every total percentage the client reported during the last upload, in order. */
  progress: number[];
  uploaded: UploadedFile[];
  linked: { uploadId: string; key: string; contentType: string; size: number }[];
  lastError: { code: string; status: number; message: string } | null;
  signature: SignatureState;
}

const config = JSON.parse(document.getElementById("demo-config")!.textContent ?? "{}") as DemoConfig;

const state: DemoState = {
  token: null,
  identity: null,
  ownerType: "progress_photo",
  uploadedAs: null,
  phase: "idle",
  progress: [],
  uploaded: [],
  linked: [],
  lastError: null,
  signature: initialSignatureState(),
};
(window as unknown as { fitkitDemo: DemoState }).fitkitDemo = state;

const uploader = createUploader({ apiBaseUrl: location.origin, getToken: () => state.token });

const ui = {
  who: el("who"),
  identityForm: el<HTMLFormElement>("identity-form"),
  userId: el<HTMLInputElement>("user-id"),
  orgId: el<HTMLInputElement>("org-id"),
  role: el<HTMLSelectElement>("role"),
  ownerType: el<HTMLSelectElement>("owner-type"),
  files: el<HTMLInputElement>("files"),
  policy: el("policy"),
  fileList: el<HTMLUListElement>("file-list"),
  total: el("total"),
  totalFill: el("total-fill"),
  totalText: el("total-text"),
  uploadButton: el<HTMLButtonElement>("upload-button"),
  cancelButton: el<HTMLButtonElement>("cancel-button"),
  uploadStatus: el("upload-status"),
  linkButton: el<HTMLButtonElement>("link-button"),
  linkStatus: el("link-status"),
  gallery: el("gallery"),
  log: el<HTMLOListElement>("log"),
};

let controller: AbortController | null = null;

// ───────────────────────────── helpers ─────────────────────────────

function log(message: string, level: "info" | "ok" | "error" = "info"): void {
  const time = new Date().toLocaleTimeString([], { hour12: false });
  ui.log.prepend(h("li", { class: `log-${level}` }, h("time", {}, time), h("span", { class: "log-text" }, message)));
  while (ui.log.children.length > 50) ui.log.lastElementChild!.remove();
}

function describeError(error: unknown): string {
  if (isUploadClientError(error)) {
    state.lastError = { code: error.code, status: error.status, message: error.message };
    return `${error.code}${error.status ? ` (${error.status})` : ""}: ${error.message}`;
  }
  state.lastError = { code: "UNKNOWN", status: 0, message: String(error) };
  return String(error);
}

const currentPolicy = (): DemoOwnerType | undefined => config.ownerTypes.find((o) => o.name === ui.ownerType.value);

// ───────────────────────────── 1. identity ─────────────────────────────

for (const role of config.roles) ui.role.append(h("option", { value: role }, role));

let signInSeq = 0;

async function signIn(): Promise<void> {
  const seq = ++signInSeq;
  const userId = ui.userId.value.trim();
  const orgId = ui.orgId.value.trim() || null;
  const role = ui.role.value;
  if (!config.devTokens) {
    log("Dev tokens are off: this stack verifies real Clerk tokens (CLERK_JWT_KEY).", "error");
    return;
  }
  const res = await postJson("/dev/token", { userId, orgId, role });
  if (seq !== signInSeq) return; // a later sign-in superseded this one
  if (res.status !== 200) {
    state.token = null;
    state.identity = null;
    ui.who.textContent = "Not signed in";
    ui.who.dataset.state = "signed-out";
    log(`Sign-in refused: ${res.body?.error?.code ?? res.status} ${res.body?.error?.message ?? ""}`, "error");
    refreshButtons();
    return;
  }
  state.token = res.body.token as string;
  state.identity = { userId, orgId, role };
  ui.who.textContent = orgId ? `${userId} · ${role} · ${orgId}` : `${userId} · no organisation`;
  ui.who.dataset.state = "signed-in";
  ui.who.className = "pill";
  log(`Signed in as ${userId}${orgId ? ` (${role} in ${orgId})` : " without an organisation"}.`, "ok");
  renderOwnerTypes();
  refreshButtons();
}

ui.identityForm.addEventListener("submit", (event) => {
  event.preventDefault();
  void signIn();
});
ui.role.addEventListener("change", () => void signIn());

// ───────────────────────────── 2. upload ─────────────────────────────

function renderOwnerTypes(): void {
  const role = ui.role.value;
  const previous = ui.ownerType.value || state.ownerType;
  ui.ownerType.replaceChildren();
  for (const ownerType of config.ownerTypes) {
    if (ownerType.createRoles.length === 0) continue; // form signatures: their own public route
    const allowed = ownerType.createRoles.includes(role);
    const option = h("option", { value: ownerType.name }, allowed ? ownerType.name : `${ownerType.name} (${ownerType.createRoles.join("/")} only)`);
    if (!allowed) option.disabled = true;
    ui.ownerType.append(option);
  }
  const keep = Array.from(ui.ownerType.options).find((o) => o.value === previous && !o.disabled);
  ui.ownerType.value = keep ? previous : (Array.from(ui.ownerType.options).find((o) => !o.disabled)?.value ?? "");
  renderPolicy();
}

function renderPolicy(): void {
  const policy = currentPolicy();
  state.ownerType = ui.ownerType.value;
  if (!policy) {
    ui.policy.textContent = "";
    return;
  }
  ui.files.accept = policy.types.join(",");
  ui.policy.replaceChildren(
    h("span", {}, "Accepts "),
    ...policy.types.flatMap((type, i) => [...(i ? [", "] : []), h("code", {}, type)]),
    h("span", {}, ` · up to ${formatBytes(policy.maxBytes)} · created by ${policy.createRoles.join(", ")}`),
  );
}

ui.ownerType.addEventListener("change", renderPolicy);

interface Row {
  li: HTMLLIElement;
  fill: HTMLElement;
  state: HTMLElement;
}
let rows: Row[] = [];

function renderFileList(): void {
  for (const img of Array.from(ui.fileList.querySelectorAll("img"))) URL.revokeObjectURL(img.src);
  ui.fileList.replaceChildren();
  rows = [];
  for (const file of Array.from(ui.files.files ?? [])) {
    const thumb = file.type.startsWith("image/")
      ? h("img", { class: "thumb", alt: "", src: URL.createObjectURL(file) })
      : h("div", { class: "thumb thumb-generic" }, file.type.split("/")[1] ?? "file");
    const fill = h("div", { class: "fill" });
    const stateText = h("span", { class: "file-state" }, "ready");
    const li = h(
      "li",
      { class: "file", "data-state": "ready" },
      thumb,
      h(
        "div",
        { class: "file-main" },
        h(
          "div",
          { class: "file-head" },
          h("span", { class: "file-name" }, file.name),
          h("span", { class: "file-meta" }, `${file.type || "unknown type"} · ${formatBytes(file.size)}`),
        ),
        h("div", { class: "bar" }, fill),
      ),
      stateText,
    );
    ui.fileList.append(li);
    rows.push({ li, fill, state: stateText });
  }
  ui.total.hidden = rows.length === 0;
  renderTotal(0, 0, 0);
  setStatus(ui.uploadStatus, "");
  refreshButtons();
}

function renderTotal(percent: number, loaded: number, total: number): void {
  ui.totalFill.style.width = `${percent}%`;
  ui.total.dataset.percent = String(percent);
  ui.totalText.textContent = total ? `${percent}% · ${formatBytes(loaded)} of ${formatBytes(total)}` : "";
}

function onProgress(progress: UploadProgress): void {
  state.progress.push(progress.percent);
  renderTotal(progress.percent, progress.loaded, progress.total);
  for (const file of progress.files) {
    const row = rows[file.index];
    if (!row) continue;
    const percent = file.state === "done" ? 100 : Math.floor((file.loaded / file.total) * 100);
    row.fill.style.width = `${percent}%`;
    row.li.dataset.state = file.state;
    row.state.textContent =
      file.state === "done"
        ? "stored ✓"
        : file.state === "queued"
          ? "queued"
          : file.state === "retrying"
            ? `retrying (attempt ${file.attempt})`
            : `${percent}%`;
  }
}

ui.files.addEventListener("change", renderFileList);

function refreshButtons(): void {
  const busy = state.phase === "uploading" || state.phase === "linking";
  ui.uploadButton.disabled = busy || !state.token || !(ui.files.files?.length ?? 0) || !ui.ownerType.value;
  ui.cancelButton.disabled = state.phase !== "uploading";
  ui.linkButton.disabled = busy || state.uploaded.length === 0;
  ui.linkButton.textContent = state.uploaded.length > 0 ? `Link ${state.uploaded.length} upload${state.uploaded.length === 1 ? "" : "s"}` : "Link uploads";
  for (const input of [ui.files, ui.ownerType, ui.role, ui.userId, ui.orgId]) input.disabled = busy;
  signaturePad.refresh();
}

ui.uploadButton.addEventListener("click", async () => {
  const files = Array.from(ui.files.files ?? []);
  const ownerType = ui.ownerType.value as OwnerType;
  controller = new AbortController();
  state.phase = "uploading";
  state.progress = [];
  state.uploaded = [];
  state.lastError = null;
  refreshButtons();
  setStatus(ui.uploadStatus, "Uploading…", "info");
  log(`Presigning ${files.length} file${files.length === 1 ? "" : "s"} as ${ownerType}.`);
  const started = performance.now();
  try {
    state.uploaded = await uploader.upload(files, { ownerType, onProgress, signal: controller.signal });
    state.uploadedAs = ownerType;
    state.phase = "uploaded";
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    setStatus(ui.uploadStatus, `Stored ${state.uploaded.length} file${state.uploaded.length === 1 ? "" : "s"} in ${seconds} s — not linked yet.`, "ok");
    for (const upload of state.uploaded) log(`Stored ${upload.fileName ?? upload.uploadId} → ${upload.key}`, "ok");
  } catch (error) {
    state.phase = "error";
    const text = describeError(error);
    const cancelled = isUploadClientError(error) && error.code === "ABORTED";
    for (const row of rows) {
      if (row.li.dataset.state === "done") continue;
      row.li.dataset.state = "failed";
      row.state.textContent = cancelled ? "cancelled" : "not stored";
    }
    setStatus(ui.uploadStatus, text, "error");
    log(`Upload failed — ${text}`, "error");
  } finally {
    controller = null;
    refreshButtons();
  }
});

ui.cancelButton.addEventListener("click", () => controller?.abort());

// ───────────────────────────── 3. link, 4. gallery ─────────────────────────────

ui.linkButton.addEventListener("click", async () => {
  const uploads = state.uploaded;
  state.phase = "linking";
  refreshButtons();
  setStatus(ui.linkStatus, "Linking…", "info");
  try {
    const res = await postJson("/dev/link", { uploadIds: uploads.map((u) => u.uploadId), ownerType: state.uploadedAs }, state.token);
    if (res.status !== 200) {
      const error = res.body?.error ?? { code: "BAD_RESPONSE", message: `HTTP ${res.status}` };
      state.lastError = { code: error.code, status: res.status, message: error.message };
      throw new Error(`${error.code} (${res.status}): ${error.message}`);
    }
    const linked = res.body.uploads as DemoState["linked"];
    state.linked.push(...linked);
    state.uploaded = [];
    state.phase = "linked";
    setStatus(ui.linkStatus, `Linked ${linked.length} upload${linked.length === 1 ? "" : "s"} — consumed exactly once.`, "ok");
    log(`Linked ${linked.map((u) => u.uploadId.slice(0, 8)).join(", ")} (consume).`, "ok");
    await showLinked(linked);
  } catch (error) {
    state.phase = "error";
    const text = error instanceof Error ? error.message : describeError(error);
    setStatus(ui.linkStatus, text, "error");
    log(`Link failed — ${text}`, "error");
  } finally {
    refreshButtons();
  }
});

/** Linked images are processed in the background: ask again while any is still processing (about 20 s at most). */
async function readyUrls(keys: string[]) {
  for (let attempt = 0; ; attempt++) {
    // The display copy: ≤ 1600 px, metadata-free, and a format every browser shows (HEIC becomes WebP).
    const urls = await uploader.signedUrls(keys, { expiresIn: 900, variant: "display" });
    if (attempt >= 80 || urls.every((u) => u.status !== "processing")) return urls;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

async function showLinked(linked: DemoState["linked"]): Promise<void> {
  const urls = await readyUrls(linked.map((u) => u.key));
  ui.gallery.querySelector(".empty")?.remove();
  urls.forEach((signed, i) => {
    const upload = linked[i]!;
    const media = upload.contentType.startsWith("image/")
      ? h("img", { src: signed.url, alt: upload.key, "data-key": upload.key, loading: "eager" })
      : upload.contentType.startsWith("video/")
        ? h("video", { src: signed.url, controls: "", preload: "metadata", "data-key": upload.key })
        : h("a", { href: signed.url, "data-key": upload.key, target: "_blank", rel: "noopener" }, "Open file");
    const expires = new Date(signed.expiresAt ?? Date.now()).toLocaleTimeString([], { hour12: false, hour: "2-digit", minute: "2-digit" });
    ui.gallery.prepend(
      h(
        "figure",
        { class: "tile" },
        h("div", { class: "tile-media" }, media),
        h(
          "figcaption",
          {},
          h("span", { class: "tile-key", title: upload.key }, upload.key),
          h("span", { class: "tile-meta" }, `${upload.contentType} · ${formatBytes(upload.size)} · URL until ${expires}`),
        ),
      ),
    );
  });
  log(`Signed ${urls.length} GET URL${urls.length === 1 ? "" : "s"} (15 min).`);
}

// ───────────────────────────── ✎ signature pad (signature-pad.ts) ─────────────────────────────

const signaturePad = mountSignaturePad({ page: state, config, uploader, log });

// ───────────────────────────── start ─────────────────────────────

renderOwnerTypes();
refreshButtons();
if (config.devTokens) void signIn();
else {
  ui.who.textContent = "Dev tokens off (CLERK_JWT_KEY set)";
  log("This stack verifies real Clerk tokens; the dev sign-in is disabled.", "error");
}
