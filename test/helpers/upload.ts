import fs from 'node:fs';
import type { ApiResponse } from './server.js';

/** Sends one multipart upload of a file on disk, as curl -F image=@file would (the file is streamed, not read whole). */
export async function uploadFile(base: string, key: string, file: string): Promise<ApiResponse> {
  const form = new FormData();
  form.append('image', await fs.openAsBlob(file, { type: 'image/png' }), 'big.png');
  const res = await fetch(`${base}/v1/upload`, { method: 'POST', headers: { authorization: `Bearer ${key}` }, body: form });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : text, text };
}

/** Sends one multipart upload of bytes in memory. */
export async function uploadBytes(base: string, key: string, bytes: Buffer): Promise<ApiResponse> {
  const form = new FormData();
  form.append('image', new Blob([new Uint8Array(bytes)], { type: 'image/png' }), 'image.png');
  const res = await fetch(`${base}/v1/upload`, { method: 'POST', headers: { authorization: `Bearer ${key}` }, body: form });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : text, text };
}
