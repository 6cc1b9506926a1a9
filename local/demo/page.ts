/**
 * The demo page's script (bundled with the client by esbuild; runs in the browser). Plain DOM,
 * no framework. Its state is on `window.fitkitDemo` for the browser test and for poking around.
 * The signature section is its own module (signature-pad.ts), bundled in with this one.
 */
import { thumbHashToDataURL } from "thumbhash";
import { createUploader, isUploadClientError, type OwnerType, type SignedUrl, type UploadedFile, type UploadProgress } from "../../client/index.js";
import { el, formatBytes, h, postJson, setStatus } from "./dom.js";
import { initialMinisiteState, type MinisiteState, mountMinisite } from "./minisite.js";
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
  minisite: MinisiteState;
  /** Gallery tiles by key (their status history, placeholder and failure code). */
  gallery: Record<string, GalleryItem>;
  /** What the lightbox shows: the `display` URL it was given. */
  lightbox: { key: string; url: string } | null;
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
  minisite: initialMinisiteState(),
  gallery: {},
  lightbox: null,
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
  lightbox: el<HTMLDialogElement>("lightbox"),
  lightboxImage: el<HTMLImageElement>("lightbox-image"),
  lightboxCaption: el("lightbox-caption"),
  lightboxClose: el<HTMLButtonElement>("lightbox-close"),
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
  minisite.refresh();
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

// Parts of a multipart upload wait for the network while the browser is offline, then go on.
window.addEventListener("offline", () => {
  if (state.phase === "uploading") log("Offline: the upload waits for the network.", "error");
});
window.addEventListener("online", () => {
  if (state.phase === "uploading") log("Back online: the upload goes on.", "ok");
});

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

/**
 * A gallery tile's life: `processing` (linked, no variants yet) → `placeholder` (the ThumbHash is
 * shown while the thumb downloads) → `ready` (the thumb is decoded); or `failed` with a code.
 * Every status a tile had is kept in order, so the browser test can see the placeholder came first.
 */
type TileStatus = "processing" | "placeholder" | "ready" | "failed";

interface GalleryItem {
  key: string;
  contentType: string;
  statuses: TileStatus[];
  /** The ThumbHash decoded to a PNG data URL. */
  placeholder: string | null;
  code: string | null;
}

interface Tile {
  item: GalleryItem;
  figure: HTMLElement;
  media: HTMLElement;
  note: HTMLElement;
}

function setTileStatus(tile: Tile, status: TileStatus, note = ""): void {
  tile.figure.dataset.status = status;
  tile.item.statuses.push(status);
  tile.note.textContent = note;
}

const isImage = (contentType: string) => contentType.startsWith("image/");

function base64Bytes(base64: string): Uint8Array {
  const binary = atob(base64);
  return Uint8Array.from(binary, (c) => c.charCodeAt(0));
}

const isVideo = (contentType: string) => contentType.startsWith("video/");

/**
 * A video plays from its playback rendition (H.264/AAC MP4, ≤ 1280 px), with its poster frame
 * shown until it starts: both signed once processing made them (never the phone's file).
 */
async function renderVideo(tile: Tile, poster: SignedUrl): Promise<void> {
  const { item } = tile;
  const [playback] = await uploader.signedUrls([item.key], { expiresIn: 900, variant: "playback" });
  if (playback?.status !== "ready" || !playback.url) {
    item.code = playback?.code ?? "FAILED";
    setTileStatus(tile, "failed", `failed: ${item.code}`);
    return;
  }
  const attributes: Record<string, string> = {
    src: playback.url,
    controls: "",
    playsinline: "",
    preload: "metadata",
    "data-key": item.key,
    "data-variant": "playback",
  };
  if (poster.url) attributes.poster = poster.url;
  tile.media.replaceChildren(h("video", attributes));
  const seconds = playback.durationMs === undefined ? "" : ` · ${(playback.durationMs / 1000).toFixed(1)} s`;
  setTileStatus(tile, "ready", playback.width && playback.height ? `${playback.width}×${playback.height}${seconds}` : "");
}

/** Shows one answer of signed-urls (variant `thumb`: an image's thumb, a video's poster) in its tile. */
function renderSigned(tile: Tile, signed: SignedUrl): void {
  const { item } = tile;
  if (signed.status === "failed") {
    item.code = signed.code ?? "FAILED";
    setTileStatus(tile, "failed", `failed: ${item.code}`);
    tile.media.replaceChildren(h("span", { class: "tile-code" }, item.code));
    return;
  }
  if (signed.status !== "ready" || !signed.url) return;
  if (isVideo(item.contentType)) {
    void renderVideo(tile, signed);
    return;
  }
  if (!isImage(item.contentType)) {
    tile.media.replaceChildren(h("a", { href: signed.url, "data-key": item.key, target: "_blank", rel: "noopener" }, "Open file"));
    setTileStatus(tile, "ready");
    return;
  }
  // The placeholder first (decoded here, no request), then the thumb over it once it has loaded.
  const children: HTMLElement[] = [];
  if (signed.placeholder) {
    item.placeholder = thumbHashToDataURL(base64Bytes(signed.placeholder));
    children.push(h("img", { class: "tile-placeholder", src: item.placeholder, alt: "" }));
  }
  const thumb = h("img", { class: "tile-thumb", alt: item.key, "data-key": item.key, "data-variant": "thumb", loading: "eager" });
  thumb.addEventListener("load", () => setTileStatus(tile, "ready"), { once: true });
  thumb.addEventListener("error", () => setTileStatus(tile, "failed", "the thumbnail did not load"), { once: true });
  thumb.addEventListener("click", () => void openLightbox(item));
  children.push(thumb);
  tile.media.replaceChildren(...children);
  setTileStatus(tile, "placeholder", signed.width && signed.height ? `${signed.width}×${signed.height}` : "");
  thumb.src = signed.url;
}

/** Linked images and videos are processed in the background: ask again while any is still processing. */
async function pollGallery(tiles: Tile[]): Promise<void> {
  let waiting = tiles;
  for (let attempt = 0; waiting.length > 0; attempt++) {
    // The thumb copy: ≤ 320 px WebP, metadata-free (HEIC becomes WebP); a video's poster; other files answer as stored.
    const urls = await uploader.signedUrls(
      waiting.map((t) => t.item.key),
      { expiresIn: 900, variant: "thumb" },
    );
    for (const [i, signed] of urls.entries()) renderSigned(waiting[i]!, signed);
    waiting = waiting.filter((_, i) => urls[i]!.status === "processing");
    if (waiting.length === 0) return;
    // About 2 minutes: a video's transcode takes longer than an image's variants.
    if (attempt >= 480) {
      for (const tile of waiting) tile.note.textContent = "still processing — reload later";
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

async function showLinked(linked: DemoState["linked"]): Promise<void> {
  ui.gallery.querySelector(".empty")?.remove();
  const tiles = linked.map((upload): Tile => {
    const item: GalleryItem = { key: upload.key, contentType: upload.contentType, statuses: [], placeholder: null, code: null };
    state.gallery[upload.key] = item;
    const media = h("div", { class: "tile-media" }, h("span", { class: "tile-spinner", "aria-hidden": "true" }));
    const note = h("span", { class: "tile-note" });
    const figure = h(
      "figure",
      { class: "tile" },
      media,
      h(
        "figcaption",
        {},
        h("span", { class: "tile-key", title: upload.key }, upload.key),
        h("span", { class: "tile-meta" }, `${upload.contentType} · ${formatBytes(upload.size)}`),
        note,
      ),
    );
    ui.gallery.prepend(figure);
    const tile = { item, figure, media, note };
    // Every image and video starts processing: its variants are made after consume, in the background.
    if (isImage(upload.contentType) || isVideo(upload.contentType)) setTileStatus(tile, "processing", "processing…");
    return tile;
  });
  await pollGallery(tiles);
  log(`Signed ${tiles.length} GET URL${tiles.length === 1 ? "" : "s"} (thumbnails, 15 min).`);
}

/** The lightbox shows the `display` copy (≤ 1600 px), signed when opened. */
async function openLightbox(item: GalleryItem): Promise<void> {
  const [signed] = await uploader.signedUrls([item.key], { expiresIn: 900, variant: "display" });
  if (signed?.status !== "ready" || !signed.url) {
    log(`No display copy for ${item.key}: ${signed?.code ?? signed?.status}`, "error");
    return;
  }
  state.lightbox = { key: item.key, url: signed.url };
  ui.lightboxImage.alt = item.key;
  // signed-urls' width and height are the image's own; the caption states the display copy's, once it has loaded.
  ui.lightboxCaption.textContent = `${item.key} · display copy`;
  ui.lightboxImage.addEventListener(
    "load",
    () => {
      const original = signed.width && signed.height ? ` (original ${signed.width}×${signed.height})` : "";
      ui.lightboxCaption.textContent = `${item.key} · display copy ${ui.lightboxImage.naturalWidth}×${ui.lightboxImage.naturalHeight}${original}`;
    },
    { once: true },
  );
  ui.lightboxImage.src = signed.url;
  if (!ui.lightbox.open) ui.lightbox.showModal();
}

ui.lightboxClose.addEventListener("click", () => ui.lightbox.close());
// A click on the backdrop (outside the image) closes it too.
ui.lightbox.addEventListener("click", (event) => {
  if (event.target === ui.lightbox) ui.lightbox.close();
});
ui.lightbox.addEventListener("close", () => {
  state.lightbox = null;
  ui.lightboxImage.removeAttribute("src");
});

// ───────────────────────────── ✎ signature pad (signature-pad.ts) ─────────────────────────────

const signaturePad = mountSignaturePad({ page: state, config, uploader, log });

// ───────────────────────────── ★ minisite (minisite.ts) ─────────────────────────────

const minisite = mountMinisite({ page: state, config, uploader, log });

// ───────────────────────────── start ─────────────────────────────

renderOwnerTypes();
refreshButtons();
// No sign-in until asked: the header says "Not signed in" until the form is sent.
if (!config.devTokens) {
  ui.who.textContent = "Dev tokens off (CLERK_JWT_KEY set)";
  log("This stack verifies real Clerk tokens; the dev sign-in is disabled.", "error");
}
