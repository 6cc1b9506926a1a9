/** The demo page's HTML; the script (page.ts) reads its configuration from a JSON data block. */

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

/** JSON that is safe inside a <script> element (no `</script>`, no `<!--`). */
const scriptJson = (value: unknown) => JSON.stringify(value).replace(/</g, "\\u003c");

export function renderPage(config: DemoConfig): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>FitKit Uploads · local demo</title>
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
    <p class="hint">Files go straight to storage with the exact signed headers; nothing is linked yet.</p>
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
    <p class="hint">Rendered from presigned GET URLs (<code>POST /uploads/signed-urls</code>).</p>
    <div id="gallery" class="gallery"><p class="empty">Nothing linked yet.</p></div>
  </section>

  <!-- ───────────── Signature pad: the public signature upload (being built by the lead) ─────────────
       Draw a signature on a canvas → PNG → PUT /public/signatures/{token} with no session. Needs:
       a dev route that issues a token (internal issue-signature-token for an org/form/submission),
       the public PUT route on the local stack, and /dev/link for ownerType form_signature
       (already served: the owner is the organisation). -->
  <section class="card placeholder" id="signature" data-placeholder="signature-pad">
    <h2><span class="step">✎</span>Signature pad <span class="tag">coming soon</span></h2>
    <p class="hint">Public, token-gated signature upload (<code>PUT /public/signatures/{token}</code>) for signatories without an account. This section is reserved for it.</p>
    <div id="signature-slot" class="signature-slot" aria-hidden="true"></div>
  </section>

  <section class="card" id="log-card">
    <h2>Activity</h2>
    <ol id="log" class="log"></ol>
  </section>
</main>
</body>
</html>
`;
}
