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
export async function putPresigned(upload: { url: string; headers: Record<string, string> }, bytes: Uint8Array): Promise<Response> {
  return fetch(upload.url, { method: "PUT", headers: upload.headers, body: bytes as BodyInit });
}

/** The error body shape of docs/API.md. */
export const errorBody = (code: string) => ({
  error: expect.objectContaining({ code, message: expect.any(String) }),
});

import { expect } from "vitest";
