/** Small fetch helpers for tests that talk HTTP. */
export async function postJson(url: string, body: unknown, token?: string): Promise<{ status: number; headers: Headers; body: any }> {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : null };
}

/** PUTs bytes to a presigned URL with exactly the headers presign returned. */
export async function putPresigned(upload: { url: string; headers: Record<string, string> } | { mode: "multipart" }, bytes: Uint8Array): Promise<Response> {
  const single = singlePut(upload);
  return fetch(single.url, { method: "PUT", headers: single.headers, body: bytes as BodyInit });
}

/** A presign answer's single PUT (small files are never multipart); a multipart answer fails the test. */
export function singlePut<U extends object>(upload: U | undefined): Extract<U, { url: string }> {
  if (!upload || !("url" in upload)) throw new Error("expected a single-PUT upload, got a multipart one");
  return upload as Extract<U, { url: string }>;
}

/** The error body shape of docs/API.md. */
export const errorBody = (code: string) => ({
  error: expect.objectContaining({ code, message: expect.any(String) }),
});

import { expect } from "vitest";
