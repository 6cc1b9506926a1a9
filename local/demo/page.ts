/**
 * The demo page's script (bundled with the client by esbuild; runs in the browser). Plain DOM,
 * no framework. Its state is on `window.fitkitDemo` for the browser test and for poking around.
 */
import { createUploader, isUploadClientError, type OwnerType, type UploadedFile, type UploadProgress } from "../../client/index.js";
import type { DemoConfig, DemoOwnerType } from "./page-html.js";

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

type SignaturePhase = "idle" | "issuing" | "issued" | "submitting" | "submitted" | "linking" | "linked" | "error";

interface SignatureState {
  phase: SignaturePhase;
  /** The signing link the admin created (what the app would send to the signatory). */
  link: { token: string; path: string; expiresAt: string; formId: string; submissionId: string } | null;
  /** Strokes drawn on the pad. */
  strokes: number;
  /** The public PUT's reply. */
  stored: { uploadId: string; sha256: string; size: number } | null;
  /** consume's reply for it. */
  linked: { uploadId: string; key: string; contentType: string; size: number; sha256?: string } | null;
  lastError: { code: string; status: number; message: string } | null;
}

const config = JSON.parse(document.getElementById("demo-config")!.textContent ?? "{}") as DemoConfig;
const el = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;

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
  signature: { phase: "idle", link: null, strokes: 0, stored: null, linked: null, lastError: null },
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
  sig: {
    stepIssue: el("sig-step-issue"),
    stepSign: el("sig-step-sign"),
    stepLink: el("sig-step-link"),
    issueForm: el<HTMLFormElement>("sig-issue-form"),
    formId: el<HTMLInputElement>("sig-form-id"),
    submissionId: el<HTMLInputElement>("sig-submission-id"),
    ttl: el<HTMLSelectElement>("sig-ttl"),
    issueButton: el<HTMLButtonElement>("sig-issue-button"),
    issueNote: el("sig-issue-note"),
    issueError: el("sig-issue-error"),
    link: el("sig-link"),
    linkPath: el("sig-link-path"),
    linkMeta: el("sig-link-meta"),
    pad: el("sig-pad"),
    canvas: el<HTMLCanvasElement>("sig-canvas"),
    policy: el("sig-policy"),
    submitButton: el<HTMLButtonElement>("sig-submit-button"),
    clearButton: el<HTMLButtonElement>("sig-clear-button"),
    submitStatus: el("sig-submit-status"),
    submitError: el("sig-submit-error"),
    stored: el("sig-stored"),
    uploadId: el("sig-upload-id"),
    sha256: el("sig-sha256"),
    size: el("sig-size"),
    linkButton: el<HTMLButtonElement>("sig-link-button"),
    linkStatus: el("sig-link-status"),
    linkError: el("sig-link-error"),
    record: el("sig-record"),
    image: el<HTMLImageElement>("sig-image"),
    key: el("sig-key"),
    recordMeta: el("sig-record-meta"),
  },
};

let controller: AbortController | null = null;

// ───────────────────────────── helpers ─────────────────────────────

function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Partial<Record<string, string>> = {},
  ...children: (Node | string)[]
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) if (value !== undefined) node.setAttribute(name, value);
  node.append(...children);
  return node;
}

function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ["KiB", "MiB", "GiB"];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

function log(message: string, level: "info" | "ok" | "error" = "info"): void {
  const time = new Date().toLocaleTimeString([], { hour12: false });
  ui.log.prepend(h("li", { class: `log-${level}` }, h("time", {}, time), h("span", { class: "log-text" }, message)));
  while (ui.log.children.length > 50) ui.log.lastElementChild!.remove();
}

function setStatus(target: HTMLElement, text: string, level: "info" | "ok" | "error" | "" = ""): void {
  target.textContent = text;
  target.className = `status${level ? ` status-${level}` : ""}`;
}

function describeError(error: unknown): string {
  if (isUploadClientError(error)) {
    state.lastError = { code: error.code, status: error.status, message: error.message };
    return `${error.code}${error.status ? ` (${error.status})` : ""}: ${error.message}`;
  }
  state.lastError = { code: "UNKNOWN", status: 0, message: String(error) };
  return String(error);
}

async function postJson(path: string, body: unknown, token?: string | null): Promise<{ status: number; body: any }> {
  const res = await fetch(path, {
    method: "POST",
    headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: await res.json().catch(() => null) };
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
  refreshSignature();
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

async function showLinked(linked: DemoState["linked"]): Promise<void> {
  const urls = await uploader.signedUrls(
    linked.map((u) => u.key),
    { expiresIn: 900 },
  );
  ui.gallery.querySelector(".empty")?.remove();
  urls.forEach((signed, i) => {
    const upload = linked[i]!;
    const media = upload.contentType.startsWith("image/")
      ? h("img", { src: signed.url, alt: upload.key, "data-key": upload.key, loading: "eager" })
      : upload.contentType.startsWith("video/")
        ? h("video", { src: signed.url, controls: "", preload: "metadata", "data-key": upload.key })
        : h("a", { href: signed.url, "data-key": upload.key, target: "_blank", rel: "noopener" }, "Open file");
    const expires = new Date(signed.expiresAt).toLocaleTimeString([], { hour12: false, hour: "2-digit", minute: "2-digit" });
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

// ───────────────────────────── ✎ signature pad ─────────────────────────────
//
// a. the admin asks for a signing link (dev route → internal issue-signature-token), b. the
// signatory draws on a canvas and the PNG goes to PUT /public/signatures/{token} — no session,
// c. the admin links it to the submission (/dev/link → consume → records/) and reads it back.

interface Point {
  x: number;
  y: number;
  pressure: number;
}

/** An error answer of the API or the dev routes, or a failure before any answer (status 0). */
class DemoApiError extends Error {
  constructor(
    readonly code: string,
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const sig = ui.sig;
const sigPlaceholder = el("sig-placeholder");
const strokes: Point[][] = [];
let activePointer: number | null = null;
const pad = sig.canvas.getContext("2d")!;
const INK = "#16233f";

const apiError = (status: number, body: any): DemoApiError =>
  new DemoApiError(body?.error?.code ?? "BAD_RESPONSE", status, body?.error?.message ?? `Unexpected answer (HTTP ${status}).`);

const HINTS: Record<string, string> = {
  TOKEN_USED: "A signing link works once. Create a new link to sign again.",
  EXPIRED: "This signing link has expired. Create a new one.",
  NOT_FOUND: "The server does not know this signing link.",
  UNAUTHENTICATED: "Sign in first (step 1).",
  RATE_LIMITED: "Too many signature uploads from this address — wait a minute and try again.",
  TOO_LARGE: "Signatures are limited to 5 MiB.",
  NETWORK_ERROR: "The request got no answer. Is the local stack still running?",
};

function sigError(error: unknown): DemoApiError {
  if (error instanceof DemoApiError) return error;
  if (isUploadClientError(error)) return new DemoApiError(error.code, error.status, error.message);
  return new DemoApiError("UNKNOWN", 0, error instanceof Error ? error.message : String(error));
}

/** Shows an error in a step's alert box (and on `fitkitDemo.signature.lastError`); returns its one-line text. */
function showSigError(target: HTMLElement, error: unknown, hints: Record<string, string> = {}): string {
  const { code, status, message } = sigError(error);
  state.signature.lastError = { code, status, message };
  const hint = hints[code] ?? HINTS[code];
  target.replaceChildren(
    h("div", { class: "alert-head" }, h("strong", { class: "alert-code" }, code), ...(status ? [h("span", { class: "alert-status" }, `HTTP ${status}`)] : [])),
    h("p", { class: "alert-text" }, message),
    ...(hint ? [h("p", { class: "alert-hint" }, hint)] : []),
  );
  target.dataset.code = code;
  target.hidden = false;
  return `${code}${status ? ` (${status})` : ""}: ${message}`;
}

function hideSigError(target: HTMLElement): void {
  target.hidden = true;
  target.replaceChildren();
  delete target.dataset.code;
}

const shortTime = (iso: string) => new Date(iso).toLocaleTimeString([], { hour12: false });
const shortDateTime = (iso: string) => new Date(iso).toLocaleString([], { hour12: false, month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" });

function renderSignaturePolicy(): void {
  const policy = config.ownerTypes.find((o) => o.name === "form_signature");
  if (!policy) return;
  sig.policy.replaceChildren(
    h("span", {}, "The pad sends "),
    h("code", {}, "image/png"),
    h("span", {}, " · the route accepts "),
    ...policy.types.flatMap((type, i) => [...(i ? [", "] : []), h("code", {}, type)]),
    h("span", {}, ` · up to ${formatBytes(policy.maxBytes)} · stored in the compliance bucket`),
  );
}

// The pad: pointer events (mouse, touch and pen alike), points kept in CSS pixels so that a resize
// (or a devicePixelRatio change) redraws them sharply. The canvas is transparent on screen; the
// PNG gets a white background (readable in any viewer).

function resizePad(): void {
  const rect = sig.canvas.getBoundingClientRect();
  const ratio = window.devicePixelRatio || 1;
  const width = Math.max(1, Math.round(rect.width * ratio));
  const height = Math.max(1, Math.round(rect.height * ratio));
  if (sig.canvas.width === width && sig.canvas.height === height) return;
  sig.canvas.width = width;
  sig.canvas.height = height;
  redrawPad();
}

function redrawPad(): void {
  const ratio = sig.canvas.width / Math.max(1, sig.canvas.getBoundingClientRect().width || sig.canvas.width);
  pad.setTransform(ratio, 0, 0, ratio, 0, 0);
  pad.clearRect(0, 0, sig.canvas.width, sig.canvas.height);
  pad.strokeStyle = INK;
  pad.fillStyle = INK;
  pad.lineCap = "round";
  pad.lineJoin = "round";
  for (const stroke of strokes) {
    for (let i = 1; i < stroke.length; i++) drawSegment(stroke, i);
    finishStroke(stroke);
  }
}

const mid = (a: Point, b: Point): Point => ({ x: (a.x + b.x) / 2, y: (a.y + b.y) / 2, pressure: (a.pressure + b.pressure) / 2 });
const inkWidth = (pressure: number) => 1.1 + 2.6 * pressure;

/** The curve from the previous midpoint to the newest one, bent through the previous point. */
function drawSegment(stroke: Point[], i: number): void {
  const p1 = stroke[i - 1]!;
  const p2 = stroke[i]!;
  const p0 = stroke[i - 2];
  const start = p0 ? mid(p0, p1) : p1;
  const end = mid(p1, p2);
  pad.lineWidth = inkWidth(p1.pressure);
  pad.beginPath();
  pad.moveTo(start.x, start.y);
  pad.quadraticCurveTo(p1.x, p1.y, end.x, end.y);
  pad.stroke();
}

function finishStroke(stroke: Point[]): void {
  const last = stroke.at(-1)!;
  if (stroke.length === 1) {
    pad.beginPath();
    pad.arc(last.x, last.y, inkWidth(last.pressure) / 2, 0, Math.PI * 2);
    pad.fill();
    return;
  }
  const from = mid(stroke.at(-2)!, last);
  pad.lineWidth = inkWidth(last.pressure);
  pad.beginPath();
  pad.moveTo(from.x, from.y);
  pad.lineTo(last.x, last.y);
  pad.stroke();
}

function pointOf(event: PointerEvent): Point {
  const rect = sig.canvas.getBoundingClientRect();
  // Only a pen's pressure means something; a mouse reports 0.5 while pressed, touch varies by device.
  const pressure = event.pointerType === "pen" && event.pressure > 0 ? event.pressure : 0.5;
  return { x: event.clientX - rect.left, y: event.clientY - rect.top, pressure };
}

const padEnabled = () => state.signature.link !== null && state.signature.phase !== "submitting";

sig.canvas.addEventListener("pointerdown", (event) => {
  if (activePointer !== null || !padEnabled()) return;
  if (event.pointerType === "mouse" && event.button !== 0) return;
  event.preventDefault();
  activePointer = event.pointerId;
  sig.canvas.setPointerCapture(event.pointerId);
  strokes.push([pointOf(event)]);
  sig.pad.dataset.state = "inked";
});

sig.canvas.addEventListener("pointermove", (event) => {
  if (event.pointerId !== activePointer) return;
  event.preventDefault();
  const stroke = strokes.at(-1)!;
  const coalesced = event.getCoalescedEvents?.() ?? [];
  for (const sample of coalesced.length > 0 ? coalesced : [event]) {
    const point = pointOf(sample);
    const last = stroke.at(-1)!;
    if (Math.hypot(point.x - last.x, point.y - last.y) < 0.75) continue;
    stroke.push(point);
    drawSegment(stroke, stroke.length - 1);
  }
});

function endStroke(event: PointerEvent): void {
  if (event.pointerId !== activePointer) return;
  activePointer = null;
  finishStroke(strokes.at(-1)!);
  state.signature.strokes = strokes.length;
  refreshSignature();
}
sig.canvas.addEventListener("pointerup", endStroke);
sig.canvas.addEventListener("pointercancel", endStroke);
sig.canvas.addEventListener("lostpointercapture", endStroke);
new ResizeObserver(() => resizePad()).observe(sig.canvas);

function clearPad(): void {
  strokes.length = 0;
  activePointer = null;
  state.signature.strokes = 0;
  sig.pad.dataset.state = "empty";
  redrawPad();
}

/** The drawing as a PNG on white, at the canvas's device-pixel size. */
function padPng(): Promise<Blob> {
  const out = document.createElement("canvas");
  out.width = sig.canvas.width;
  out.height = sig.canvas.height;
  const paper = out.getContext("2d")!;
  paper.fillStyle = "#ffffff";
  paper.fillRect(0, 0, out.width, out.height);
  paper.drawImage(sig.canvas, 0, 0);
  return new Promise((resolve, reject) =>
    out.toBlob((blob) => (blob ? resolve(blob) : reject(new DemoApiError("UNKNOWN", 0, "The canvas could not be encoded as PNG."))), "image/png"),
  );
}

sig.clearButton.addEventListener("click", () => {
  clearPad();
  refreshSignature();
});

function refreshSignature(): void {
  const s = state.signature;
  const busy = s.phase === "issuing" || s.phase === "submitting" || s.phase === "linking";
  const admin = !!state.token && state.identity?.role === "admin" && !!state.identity.orgId;
  sig.issueButton.disabled = busy || !admin;
  for (const input of [sig.formId, sig.submissionId, sig.ttl]) input.disabled = busy;
  sig.issueNote.textContent = admin
    ? `For ${state.identity!.orgId}: one person may upload one signature with it, once, without an account.`
    : "Sign in as an admin of an organisation (step 1) to create a signing link.";
  sig.issueNote.className = admin ? "sig-note" : "sig-note sig-note-warn";

  sig.pad.dataset.disabled = String(!padEnabled());
  sigPlaceholder.textContent = s.link ? "Sign here with a mouse, a finger or a pen" : "Create a signing link first";
  sig.submitButton.disabled = busy || !s.link || s.strokes === 0;
  sig.clearButton.disabled = busy || s.strokes === 0;
  sig.linkButton.disabled = busy || !s.stored || !!s.linked || !state.token;

  sig.stepIssue.dataset.state = s.link ? "done" : "active";
  sig.stepSign.dataset.state = !s.link ? "waiting" : s.stored ? "done" : "active";
  sig.stepLink.dataset.state = !s.stored ? "waiting" : s.linked ? "done" : "active";
}

sig.issueForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  const s = state.signature;
  const formId = sig.formId.value.trim();
  const submissionId = sig.submissionId.value.trim();
  s.phase = "issuing";
  s.lastError = null;
  hideSigError(sig.issueError);
  refreshSignature();
  try {
    const res = await postJson("/dev/signature-token", { formId, submissionId, ttlSeconds: Number(sig.ttl.value) }, state.token).catch(() => {
      throw new DemoApiError("NETWORK_ERROR", 0, "The signing link request failed.");
    });
    if (res.status !== 201) throw apiError(res.status, res.body);
    const { token, path, expiresAt } = res.body as { token: string; path: string; expiresAt: string };
    // A new link starts a new signature: forget the previous one's upload and record.
    Object.assign(s, { link: { token, path, expiresAt, formId, submissionId }, stored: null, linked: null, phase: "issued" });
    clearPad();
    for (const alert of [sig.submitError, sig.linkError]) hideSigError(alert);
    for (const block of [sig.stored, sig.record]) block.hidden = true;
    sig.image.removeAttribute("src");
    setStatus(sig.submitStatus, "");
    setStatus(sig.linkStatus, "");
    sig.linkPath.textContent = path;
    sig.linkPath.title = `${location.origin}${path}`;
    sig.linkMeta.textContent = `${formId} · ${submissionId} · single use · expires ${shortDateTime(expiresAt)}`;
    sig.link.hidden = false;
    log(`Signing link for ${formId}/${submissionId} created (expires ${shortDateTime(expiresAt)}).`, "ok");
  } catch (error) {
    s.phase = "error";
    const text = showSigError(sig.issueError, error, { FORBIDDEN: "Only an admin of an organisation may create signing links (step 1)." });
    log(`Signing link refused — ${text}`, "error");
  } finally {
    refreshSignature();
  }
});

sig.submitButton.addEventListener("click", async () => {
  const s = state.signature;
  const link = s.link;
  if (!link) return;
  s.phase = "submitting";
  s.lastError = null;
  hideSigError(sig.submitError);
  setStatus(sig.submitStatus, "Sending…", "info");
  refreshSignature();
  try {
    const png = await padPng();
    // The public route: the token in the path is the only credential — no session, no cookies.
    const res = await fetch(link.path, { method: "PUT", headers: { "content-type": "image/png" }, body: png, credentials: "omit", cache: "no-store" }).catch(
      () => {
        throw new DemoApiError("NETWORK_ERROR", 0, "The signature upload failed.");
      },
    );
    const body = await res.json().catch(() => null);
    if (res.status !== 201) throw apiError(res.status, body);
    const stored = body as { uploadId: string; sha256: string; size: number };
    Object.assign(s, { stored, linked: null, phase: "submitted" });
    sig.uploadId.textContent = stored.uploadId;
    sig.sha256.textContent = stored.sha256;
    sig.size.textContent = `${formatBytes(stored.size)} (${stored.size.toLocaleString("en")} bytes)`;
    sig.stored.hidden = false;
    sig.record.hidden = true;
    hideSigError(sig.linkError);
    setStatus(sig.linkStatus, "");
    setStatus(sig.submitStatus, "Stored under incoming/ — not linked yet.", "ok");
    log(`Signature stored (${formatBytes(stored.size)}, upload ${stored.uploadId.slice(0, 8)}).`, "ok");
  } catch (error) {
    s.phase = "error";
    setStatus(sig.submitStatus, ""); // the alert below says why (an earlier stored signature stays shown)
    const text = showSigError(sig.submitError, error);
    log(`Signature refused — ${text}`, "error");
  } finally {
    refreshSignature();
  }
});

sig.linkButton.addEventListener("click", async () => {
  const s = state.signature;
  const stored = s.stored;
  if (!stored) return;
  s.phase = "linking";
  s.lastError = null;
  hideSigError(sig.linkError);
  setStatus(sig.linkStatus, "Linking…", "info");
  refreshSignature();
  try {
    const res = await postJson("/dev/link", { uploadIds: [stored.uploadId], ownerType: "form_signature" }, state.token).catch(() => {
      throw new DemoApiError("NETWORK_ERROR", 0, "The link request failed.");
    });
    if (res.status !== 200) throw apiError(res.status, res.body);
    const linked = (res.body.uploads as NonNullable<SignatureState["linked"]>[])[0]!;
    s.linked = linked;
    sig.key.textContent = linked.key;
    sig.key.title = linked.key;
    sig.recordMeta.textContent = `${linked.contentType} · ${formatBytes(linked.size)}${linked.sha256 === stored.sha256 ? " · same SHA-256 as uploaded" : ""}`;
    sig.image.removeAttribute("src");
    sig.record.hidden = false;
    setStatus(sig.linkStatus, "Linked — consumed once and moved to records/.", "ok");
    log(`Signature linked → ${linked.key}`, "ok");
    // Read it back as the admin: a short-lived presigned GET (the image renders inline).
    const [signed] = await uploader.signedUrls([linked.key], { expiresIn: 300 });
    sig.image.src = signed!.url;
    sig.recordMeta.textContent += ` · URL until ${shortTime(signed!.expiresAt)}`;
    s.phase = "linked";
  } catch (error) {
    s.phase = "error";
    setStatus(sig.linkStatus, s.linked ? "Linked, but not readable with this session." : "Not linked.", "error");
    const text = showSigError(sig.linkError, error, { FORBIDDEN: "Signatures are readable by admins of their organisation only." });
    log(`Signature link failed — ${text}`, "error");
  } finally {
    refreshSignature();
  }
});

// ───────────────────────────── start ─────────────────────────────

renderOwnerTypes();
renderSignaturePolicy();
resizePad();
refreshButtons();
if (config.devTokens) void signIn();
else {
  ui.who.textContent = "Dev tokens off (CLERK_JWT_KEY set)";
  log("This stack verifies real Clerk tokens; the dev sign-in is disabled.", "error");
}
