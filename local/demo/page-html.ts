/** The demo page's HTML; the script (page.ts) reads its configuration from a JSON data block. */
import { MINISITE_SECTION } from "./minisite-html.js";

export interface DemoOwnerType {
  name: string;
  /** Roles that may presign it; empty for form signatures (their own public route). */
  createRoles: string[];
  types: string[];
  maxBytes: number;
}

export interface DemoConfig {
  /** False when the stack verifies real Clerk tokens (no dev key to sign with). */
  devTokens: boolean;
  roles: string[];
  ownerTypes: DemoOwnerType[];
}

/** The page's icon, inline (no request, so no 404 in the console): the header's "FK" mark. */
export const FAVICON =
  "data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 32 32'%3E%3Crect width='32' height='32' rx='7' fill='%232f6fed'/%3E%3Ctext x='16' y='21' font-family='sans-serif' font-size='14' font-weight='700' text-anchor='middle' fill='white'%3EFK%3C/text%3E%3C/svg%3E";

/** JSON that is safe inside a <script> element (no `</script>`, no `<!--`). */
const scriptJson = (value: unknown) => JSON.stringify(value).replace(/</g, "\\u003c");

export function renderPage(config: DemoConfig): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>FitKit Uploads · local demo</title>
<link rel="icon" href="${FAVICON}">
<link rel="stylesheet" href="/demo/app.css">
<script type="application/json" id="demo-config">${scriptJson(config)}</script>
<script type="module" src="/demo/app.js"></script>
</head>
<body>
<header class="top">
  <div class="brand"><span class="logo" aria-hidden="true">FK</span><div><h1>FitKit Uploads</h1><p>Local demo · presign → PUT to storage → link → signed URLs</p></div></div>
  <div id="who" class="pill pill-muted" data-state="signed-out">Not signed in</div>
</header>

<main>
  <section class="card" id="identity">
    <h2><span class="step">1</span>Who are you?</h2>
    <p class="hint">A development session token signed with the local stack's dev key — the same verification as Clerk's in production.</p>
    <form id="identity-form" class="row">
      <label>User id <input id="user-id" name="userId" value="user_demo" autocomplete="off" spellcheck="false" required pattern="[A-Za-z0-9_\\-]{1,128}"></label>
      <label>Organisation <input id="org-id" name="orgId" value="org_demo" autocomplete="off" spellcheck="false" pattern="[A-Za-z0-9_\\-]{0,128}"></label>
      <label>Role <select id="role" name="role"></select></label>
      <button type="submit" id="sign-in" class="secondary">Sign in</button>
    </form>
  </section>

  <section class="card" id="upload">
    <h2><span class="step">2</span>Upload</h2>
    <p class="hint">Files go straight to storage with the exact signed headers; nothing is linked yet. A file over the server's multipart threshold (a large video) goes in parts, four at a time: a lost connection costs one part, and after a reload picking the same file again resumes it.</p>
    <div class="row">
      <label>Owner type <select id="owner-type"></select></label>
      <label class="file-pick">Files <input type="file" id="files" multiple></label>
    </div>
    <p id="policy" class="policy"></p>
    <ul id="file-list" class="file-list" aria-live="polite"></ul>
    <div class="total" id="total" hidden>
      <div class="bar"><div class="fill" id="total-fill"></div></div>
      <span id="total-text" class="total-text">0%</span>
    </div>
    <div class="actions">
      <button id="upload-button" disabled>Upload</button>
      <button id="cancel-button" class="secondary" disabled>Cancel</button>
      <span id="upload-status" class="status" role="status"></span>
    </div>
  </section>

  <section class="card" id="link">
    <h2><span class="step">3</span>Link</h2>
    <p class="hint">What your backend does with its parent write: <code>consume</code> the upload ids as the signed-in user (dev route <code>POST /dev/link</code>). Unlinked uploads are swept.</p>
    <div class="actions">
      <button id="link-button" disabled>Link uploads</button>
      <span id="link-status" class="status" role="status"></span>
    </div>
  </section>

  <section class="card" id="gallery-card">
    <h2><span class="step">4</span>Linked files</h2>
    <p class="hint">Rendered from presigned GET URLs (<code>POST /uploads/signed-urls</code>): images as their <code>thumb</code> copy, with the ThumbHash placeholder while it loads; a click opens the <code>display</code> copy.</p>
    <div id="gallery" class="gallery"><p class="empty">Nothing linked yet.</p></div>
    <dialog id="lightbox" class="lightbox" aria-label="Photo">
      <img id="lightbox-image" alt="">
      <div class="lightbox-bar"><span id="lightbox-caption" class="tile-key"></span><button id="lightbox-close" type="button">Close</button></div>
    </dialog>
  </section>

  <section class="card" id="signature">
    <h2><span class="step">✎</span>Signature pad</h2>
    <p class="hint">For a signatory without an account: an admin creates a single-use signing link (dev route <code>POST /dev/signature-token</code> → internal <code>issue-signature-token</code>), the signatory draws and sends a PNG to <code>PUT /public/signatures/{token}</code> with no session, and linking it to the submission moves it to the retention-locked <code>records/</code> prefix.</p>

    <ol class="sig-steps">
      <li class="sig-step" id="sig-step-issue" data-state="active">
        <div class="sig-head"><span class="sig-n">a</span><h3>Create a signing link</h3><span class="tag tag-admin">admin</span></div>
        <form id="sig-issue-form" class="row">
          <label>Form id <input id="sig-form-id" value="form_waiver" autocomplete="off" spellcheck="false" required pattern="[A-Za-z0-9_\\-]{1,128}"></label>
          <label>Submission id <input id="sig-submission-id" value="sub_1001" autocomplete="off" spellcheck="false" required pattern="[A-Za-z0-9_\\-]{1,128}"></label>
          <label>Valid for <select id="sig-ttl"><option value="900">15 minutes</option><option value="3600">1 hour</option><option value="86400" selected>1 day</option><option value="604800">7 days</option></select></label>
          <button type="submit" id="sig-issue-button" class="secondary">Create signing link</button>
        </form>
        <p id="sig-issue-note" class="sig-note"></p>
        <div id="sig-link" class="sig-link" hidden>
          <span class="sig-link-label">Link</span><code id="sig-link-path" class="sig-link-path"></code><span id="sig-link-meta" class="sig-link-meta"></span>
        </div>
        <div id="sig-issue-error" class="alert" role="alert" hidden></div>
      </li>

      <li class="sig-step" id="sig-step-sign" data-state="waiting">
        <div class="sig-head"><span class="sig-n">b</span><h3>Sign</h3><span class="tag tag-public">signatory · no session</span></div>
        <div class="pad" id="sig-pad" data-state="empty">
          <canvas id="sig-canvas" role="img" aria-label="Signature pad: draw with a mouse, a finger or a pen"></canvas>
          <div class="pad-guide" aria-hidden="true"><span class="pad-x">×</span><span class="pad-line"></span></div>
          <p id="sig-placeholder" class="pad-placeholder" aria-hidden="true">Create a signing link first</p>
        </div>
        <p id="sig-policy" class="policy"></p>
        <div class="actions">
          <button id="sig-submit-button" disabled>Submit signature</button>
          <button id="sig-clear-button" class="secondary" disabled>Clear</button>
          <span id="sig-submit-status" class="status" role="status"></span>
        </div>
        <dl id="sig-stored" class="kv" hidden>
          <dt>uploadId</dt><dd><code id="sig-upload-id"></code></dd>
          <dt>sha256</dt><dd><code id="sig-sha256"></code></dd>
          <dt>size</dt><dd id="sig-size"></dd>
        </dl>
        <div id="sig-submit-error" class="alert" role="alert" hidden></div>
      </li>

      <li class="sig-step" id="sig-step-link" data-state="waiting">
        <div class="sig-head"><span class="sig-n">c</span><h3>Link to the submission</h3><span class="tag tag-admin">admin</span></div>
        <p class="sig-note">What the app's backend does when the submission is saved: <code>consume</code> with <code>ownerType: "form_signature"</code> (the owner is the organisation), then read it back through <code>POST /uploads/signed-urls</code> — admins of the organisation only.</p>
        <div class="actions">
          <button id="sig-link-button" disabled>Link to submission</button>
          <span id="sig-link-status" class="status" role="status"></span>
        </div>
        <div id="sig-link-error" class="alert" role="alert" hidden></div>
        <figure id="sig-record" class="sig-record" hidden>
          <div class="sig-record-image"><img id="sig-image" alt="The stored signature"></div>
          <figcaption>
            <span class="sig-record-label">Retained key</span>
            <code id="sig-key" class="sig-key"></code>
            <span id="sig-record-meta" class="sig-record-meta"></span>
          </figcaption>
        </figure>
      </li>
    </ol>
  </section>

  ${MINISITE_SECTION}

  <section class="card" id="log-card">
    <h2>Activity</h2>
    <ol id="log" class="log"></ol>
  </section>
</main>
</body>
</html>
`;
}
