/** The demo page's Minisite section (its script is minisite.ts): an admin's logo and hero, published. */
export const MINISITE_SECTION = `<section class="card" id="minisite">
    <h2><span class="step">★</span>Minisite</h2>
    <p class="hint">An admin's branding, made public: a logo (<code>organization_logo</code>) and a hero image (<code>minisite_media</code>) are uploaded, linked (<code>POST /dev/link</code>) and published (dev route <code>POST /dev/publish</code> → internal <code>publish</code>: responsive WebP/AVIF renditions in the public bucket, replacing the organisation's previous logo or hero). <code>GET /minisite/{orgId}</code> shows them to anyone — no session, no signed URL.</p>
    <div class="row">
      <label class="file-pick">Logo <input type="file" id="ms-logo"></label>
      <label class="file-pick">Hero image <input type="file" id="ms-hero"></label>
    </div>
    <p id="ms-policy" class="policy"></p>
    <div class="actions">
      <button id="ms-publish-button" disabled>Upload, link &amp; publish</button>
      <span id="ms-status" class="status" role="status"></span>
    </div>
    <ol id="ms-steps" class="ms-steps">
      <li data-step="upload" data-state="waiting">Upload</li>
      <li data-step="link" data-state="waiting">Link</li>
      <li data-step="publish" data-state="waiting">Publish</li>
    </ol>
    <div id="ms-result" class="ms-result" hidden>
      <p class="ms-open"><a id="ms-open" target="_blank" rel="noopener"></a> · the page as a 412 px phone sees it:</p>
      <iframe id="ms-frame" class="ms-frame" title="The organisation's minisite"></iframe>
    </div>
  </section>`;
