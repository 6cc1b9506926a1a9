/**
 * Upload progress photos from an app on its own origin. The session token would come from Clerk
 * (`useAuth().getToken`); here it is pasted (`npm run --silent dev:token -- --org org_1` in the
 * uploads repository) or given as `?token=`. The API is `VITE_FITKIT_API` (default
 * http://localhost:3000).
 */
import type { UploadedFile } from "@fitkit/uploads-client";
import { useUpload } from "@fitkit/uploads-client/react";
import { useState } from "react";

const API = import.meta.env.VITE_FITKIT_API ?? "http://localhost:3000";

export function App() {
  const [token, setToken] = useState(() => new URLSearchParams(location.search).get("token") ?? "");
  const [files, setFiles] = useState<FileList | null>(null);
  const { upload, abort, status, progress, error, uploaded } = useUpload({ ownerType: "progress_photo", apiBaseUrl: API, getToken: () => token });

  return (
    <main style={{ fontFamily: "system-ui", maxWidth: 560, margin: "2rem auto" }}>
      <h1>Progress photos</h1>
      <label>
        Session token <input name="token" value={token} onChange={(event) => setToken(event.target.value)} />
      </label>
      <p>
        <input type="file" name="photos" accept="image/*" multiple onChange={(event) => setFiles(event.target.files)} />
      </p>
      <button type="button" disabled={!files?.length || !token || status === "uploading"} onClick={() => files && void upload(files)}>
        Upload
      </button>
      {status === "uploading" && (
        <button type="button" onClick={abort}>
          Cancel
        </button>
      )}
      <p>
        <progress max={100} value={progress?.percent ?? 0} /> <output data-testid="status">{status}</output>
      </p>
      {error && <p role="alert">{`${error.code}: ${error.message}`}</p>}
      {/* Send these with the parent write; the service that writes it calls consume. */}
      {status === "done" && <UploadedList files={uploaded} />}
    </main>
  );
}

function UploadedList({ files }: { files: UploadedFile[] }) {
  return (
    <ul data-testid="uploaded">
      {files.map((file) => (
        <li key={file.uploadId} data-upload-id={file.uploadId}>
          {file.fileName} — {file.size} bytes
        </li>
      ))}
    </ul>
  );
}
