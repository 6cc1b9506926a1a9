/**
 * The demo page's Minisite section (part of the page script, bundled with it): an admin picks a
 * logo and a hero image, which are uploaded as `organization_logo` and `minisite_media`, linked
 * (/dev/link → consume), published once processed (the page polls signed-urls, whose `processing`
 * status is a 200, not an error; then /dev/publish → the internal publish operation) and shown on
 * the organisation's public page.
 */
import { isUploadClientError, type OwnerType, type Uploader } from "../../client/index.js";
import { el, formatBytes, h, postJson, setStatus } from "./dom.js";
import type { DemoConfig } from "./page-html.js";

export type MinisitePhase = "idle" | "uploading" | "linking" | "publishing" | "published" | "error";

type Slot = "logo" | "hero";

/** What `POST /dev/publish` answers for one key (the publish operation's answer, plus the key). */
export interface PublishedImage {
  key: string;
  url: string;
  srcset: string;
  width: number;
  height: number;
  sources: { type: string; srcset: string }[];
}

export interface MinisiteState {
  phase: MinisitePhase;
  /** The linked uploads' keys, by slot. */
  keys: Partial<Record<Slot, string>>;
  /** The publish answers, by slot. */
  published: Partial<Record<Slot, PublishedImage>>;
  /** Keys of earlier logos or heroes this publish replaced (unpublished). */
  replaced: string[];
  /** The organisation's public page (same origin). */
  minisite: string | null;
  lastError: { code: string; status: number; message: string } | null;
}

export const initialMinisiteState = (): MinisiteState => ({ phase: "idle", keys: {}, published: {}, replaced: [], minisite: null, lastError: null });

/** The page's state this section reads (the session, live) and writes (its own `minisite`). */
export interface MinisitePageState {
  readonly token: string | null;
  readonly identity: { userId: string; orgId: string | null; role: string } | null;
  readonly minisite: MinisiteState;
}

export interface MinisiteContext {
  page: MinisitePageState;
  config: DemoConfig;
  uploader: Uploader;
  log(message: string, level?: "info" | "ok" | "error"): void;
}

const OWNER_TYPES: Record<Slot, OwnerType> = { logo: "organization_logo", hero: "minisite_media" };
/** Processing a photo takes about a second here; a 12-MP one several: ask for up to 30 s. */
const PROCESSED_ATTEMPTS = 120;
const PROCESSED_POLL_MS = 250;

class MinisiteError extends Error {
  constructor(
    readonly code: string,
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const replyError = (status: number, body: any) =>
  new MinisiteError(body?.error?.code ?? "BAD_RESPONSE", status, body?.error?.message ?? `Unexpected answer (HTTP ${status}).`);

export function mountMinisite(context: MinisiteContext): { refresh(): void } {
  const { page, config, uploader, log } = context;
  const state = page.minisite;
  const ui = {
    inputs: { logo: el<HTMLInputElement>("ms-logo"), hero: el<HTMLInputElement>("ms-hero") },
    policy: el("ms-policy"),
    button: el<HTMLButtonElement>("ms-publish-button"),
    status: el("ms-status"),
    steps: el<HTMLOListElement>("ms-steps"),
    result: el("ms-result"),
    open: el<HTMLAnchorElement>("ms-open"),
    frame: el<HTMLIFrameElement>("ms-frame"),
  };

  const policyOf = (slot: Slot) => config.ownerTypes.find((o) => o.name === OWNER_TYPES[slot]);
  for (const slot of ["logo", "hero"] as const) {
    ui.inputs[slot].accept = policyOf(slot)?.types.join(",") ?? "image/*";
    ui.inputs[slot].addEventListener("change", refresh);
  }
  ui.policy.replaceChildren(
    ...(["logo", "hero"] as const).flatMap((slot, i) => {
      const policy = policyOf(slot);
      return policy ? [...(i ? [" · "] : []), h("code", {}, policy.name), ` up to ${formatBytes(policy.maxBytes)}`] : [];
    }),
    ` · created by ${policyOf("hero")?.createRoles.join(", ") ?? "admin"}`,
  );

  const chosen = (): [Slot, File][] =>
    (["logo", "hero"] as const).flatMap((slot): [Slot, File][] => {
      const file = ui.inputs[slot].files?.[0];
      return file ? [[slot, file]] : [];
    });

  const busy = () => state.phase === "uploading" || state.phase === "linking" || state.phase === "publishing";

  function refresh(): void {
    const admin = page.identity?.role === "admin" && page.identity.orgId !== null && page.token !== null;
    ui.button.disabled = busy() || !admin || chosen().length === 0;
    ui.button.title = admin ? "" : "Sign in as an admin of an organisation (step 1).";
    for (const input of Object.values(ui.inputs)) input.disabled = busy();
  }

  function step(name: "upload" | "link" | "publish", stepState: "waiting" | "active" | "done" | "failed"): void {
    const item = ui.steps.querySelector<HTMLElement>(`[data-step="${name}"]`);
    if (item) item.dataset.state = stepState;
  }

  /**
   * Waits until every image's processing is over (signed-urls answers `processing` with a 200, so
   * nothing shows as a failed request meanwhile), then `POST /dev/publish` once: an image whose
   * processing failed is refused there with its reason.
   */
  async function publish(keys: string[]) {
    for (let attempt = 1; ; attempt++) {
      const states = await uploader.signedUrls(keys, { variant: "thumb" });
      if (states.every((url) => url.status !== "processing")) break;
      if (attempt >= PROCESSED_ATTEMPTS) throw new MinisiteError("STILL_PROCESSING", 0, "The images are still being processed; try again in a moment.");
      await new Promise((resolve) => setTimeout(resolve, PROCESSED_POLL_MS));
    }
    const res = await postJson("/dev/publish", { keys }, page.token);
    if (res.status !== 200) throw replyError(res.status, res.body);
    return res.body as { published: PublishedImage[]; unpublished: string[]; minisite: string };
  }

  async function run(): Promise<void> {
    const files = chosen();
    Object.assign(state, { ...initialMinisiteState(), phase: "uploading" });
    for (const name of ["upload", "link", "publish"] as const) step(name, "waiting");
    ui.result.hidden = true;
    refresh();
    let current: "upload" | "link" | "publish" = "upload";
    try {
      step("upload", "active");
      setStatus(ui.status, "Uploading…", "info");
      const uploaded = await Promise.all(
        files.map(async ([slot, file]) => ({ slot, upload: (await uploader.upload([file], { ownerType: OWNER_TYPES[slot] }))[0]! })),
      );
      for (const { slot, upload } of uploaded) log(`Minisite ${slot} stored → ${upload.key}`, "ok");
      step("upload", "done");

      current = "link";
      state.phase = "linking";
      step("link", "active");
      setStatus(ui.status, "Linking…", "info");
      for (const { slot, upload } of uploaded) {
        const res = await postJson("/dev/link", { uploadIds: [upload.uploadId], ownerType: OWNER_TYPES[slot] }, page.token);
        if (res.status !== 200) throw replyError(res.status, res.body);
        state.keys[slot] = upload.key;
      }
      step("link", "done");

      current = "publish";
      state.phase = "publishing";
      step("publish", "active");
      setStatus(ui.status, "Publishing (once processed)…", "info");
      const reply = await publish(uploaded.map(({ upload }) => upload.key));
      for (const { slot, upload } of uploaded) state.published[slot] = reply.published.find((p) => p.key === upload.key);
      state.replaced = reply.unpublished;
      state.minisite = reply.minisite;
      state.phase = "published";
      step("publish", "done");
      const renditions = reply.published.map((p) => p.srcset.split(", ").length + p.sources.reduce((n, s) => n + s.srcset.split(", ").length, 0));
      setStatus(ui.status, `Published — ${renditions.reduce((a, b) => a + b, 0)} public renditions.`, "ok");
      log(`Published ${uploaded.map((u) => u.slot).join(" and ")}${reply.unpublished.length ? `, replacing ${reply.unpublished.length} earlier` : ""}.`, "ok");
      ui.open.href = reply.minisite;
      ui.open.textContent = `Open ${reply.minisite}`;
      ui.frame.src = reply.minisite; // (re)loads it, also when the path is the same as before (sized to it on load, below)
      ui.result.hidden = false;
    } catch (error) {
      const failure =
        error instanceof MinisiteError
          ? error
          : isUploadClientError(error)
            ? new MinisiteError(error.code, error.status, error.message)
            : new MinisiteError("UNKNOWN", 0, String(error));
      state.phase = "error";
      state.lastError = { code: failure.code, status: failure.status, message: failure.message };
      step(current, "failed");
      setStatus(ui.status, `${failure.code}${failure.status ? ` (${failure.status})` : ""}: ${failure.message}`, "error");
      log(`Minisite ${current} failed — ${failure.code}: ${failure.message}`, "error");
    } finally {
      refresh();
    }
  }

  // The frame is as tall as the page it shows (same origin): no empty space under a short page.
  ui.frame.addEventListener("load", () => {
    const height = ui.frame.contentDocument?.documentElement.scrollHeight;
    // With its borders (the page's box-sizing may count them in `height`).
    if (height) ui.frame.style.height = `${height + ui.frame.offsetHeight - ui.frame.clientHeight}px`;
  });
  ui.button.addEventListener("click", () => void run());
  refresh();
  return { refresh };
}
