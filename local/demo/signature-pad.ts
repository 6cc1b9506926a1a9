/**
 * The demo page's signature section (part of the page script, bundled with it): a. the admin asks
 * for a signing link (dev route → internal issue-signature-token), b. the signatory draws on a
 * canvas and the PNG goes to PUT /public/signatures/{token} — no session, c. the admin links it to
 * the submission (/dev/link → consume → records/) and reads it back.
 */
import { isUploadClientError, type Uploader } from "../../client/index.js";
import { el, formatBytes, h, postJson, setStatus } from "./dom.js";
import type { DemoConfig } from "./page-html.js";

export type SignaturePhase = "idle" | "issuing" | "issued" | "submitting" | "submitted" | "linking" | "linked" | "error";

export interface SignatureState {
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

export const initialSignatureState = (): SignatureState => ({ phase: "idle", link: null, strokes: 0, stored: null, linked: null, lastError: null });

/** The page's state this section reads (the session, live) and writes (its own `signature`). */
export interface SignaturePageState {
  readonly token: string | null;
  readonly identity: { userId: string; orgId: string | null; role: string } | null;
  readonly signature: SignatureState;
}

export interface SignaturePadContext {
  page: SignaturePageState;
  config: DemoConfig;
  /** The page's uploader (the admin reads the linked signature through its signed URLs). */
  uploader: Uploader;
  log(message: string, level?: "info" | "ok" | "error"): void;
}

export interface SignaturePad {
  /** Re-renders buttons and steps from the state (call after the session changes). */
  refresh(): void;
}

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

const shortTime = (iso: string) => new Date(iso).toLocaleTimeString([], { hour12: false });
const shortDateTime = (iso: string) => new Date(iso).toLocaleString([], { hour12: false, month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" });

const INK = "#16233f";
const mid = (a: Point, b: Point): Point => ({ x: (a.x + b.x) / 2, y: (a.y + b.y) / 2, pressure: (a.pressure + b.pressure) / 2 });
const inkWidth = (pressure: number) => 1.1 + 2.6 * pressure;

/** Wires the section's elements (ids `sig-*`) to the state; call once, after the DOM is parsed. */
export function mountSignaturePad(context: SignaturePadContext): SignaturePad {
  const { page: state, config, uploader, log } = context;

  const sig = {
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
  };
  const sigPlaceholder = el("sig-placeholder");
  const strokes: Point[][] = [];
  let activePointer: number | null = null;
  const pad = sig.canvas.getContext("2d")!;

  /** Shows an error in a step's alert box (and on `fitkitDemo.signature.lastError`); returns its one-line text. */
  function showSigError(target: HTMLElement, error: unknown, hints: Record<string, string> = {}): string {
    const { code, status, message } = sigError(error);
    state.signature.lastError = { code, status, message };
    const hint = hints[code] ?? HINTS[code];
    target.replaceChildren(
      h(
        "div",
        { class: "alert-head" },
        h("strong", { class: "alert-code" }, code),
        ...(status ? [h("span", { class: "alert-status" }, `HTTP ${status}`)] : []),
      ),
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

  /** A link signs once: after its signature is stored there is nothing more to draw or send with it. */
  const padEnabled = () => state.signature.link !== null && state.signature.stored === null && state.signature.phase !== "submitting";

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
    sigPlaceholder.textContent = !s.link
      ? "Create a signing link first"
      : s.stored
        ? "Signed — this link is used"
        : "Sign here with a mouse, a finger or a pen";
    sig.submitButton.disabled = busy || !s.link || !!s.stored || s.strokes === 0;
    sig.clearButton.disabled = busy || !!s.stored || s.strokes === 0;
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
      sig.image.src = signed!.url!; // compliance records are served as stored: always ready
      sig.recordMeta.textContent += ` · URL until ${shortTime(signed!.expiresAt!)}`;
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

  renderSignaturePolicy();
  resizePad();
  return { refresh: refreshSignature };
}
