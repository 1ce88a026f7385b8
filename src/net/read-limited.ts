import type { Readable } from 'node:stream';
import { UrlRefused } from './url-refused.js';

/**
 * Reads a response body into memory, failing as soon as it passes `maxBytes`. The declared
 * Content-Length is checked first so an honest oversized response costs no body bytes at all;
 * the running count catches chunked and lying responses.
 */
export async function readLimited(body: Readable, maxBytes: number, contentLength: string | string[] | undefined): Promise<Buffer> {
  const declared = typeof contentLength === 'string' && /^\d+$/.test(contentLength.trim()) ? Number(contentLength) : undefined;
  if (declared !== undefined && declared > maxBytes) {
    discardBody(body);
    throw tooLarge(maxBytes);
  }
  // undici reports its own abort of a half-read body as an 'error' event; the refusal thrown
  // below is the real outcome, so that late event must not become an uncaught exception.
  body.on('error', ignore);
  const chunks: Buffer[] = [];
  let total = 0;
  // Leaving the loop by throwing destroys the stream, which closes the connection.
  for await (const chunk of body as AsyncIterable<Uint8Array>) {
    total += chunk.byteLength;
    if (total > maxBytes) throw tooLarge(maxBytes);
    chunks.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
  }
  return Buffer.concat(chunks, total);
}

/** Drops a body we will not read (redirects, refusals) without an unhandled 'error' event. */
export function discardBody(body: Readable): void {
  body.on('error', ignore);
  body.destroy();
}

function ignore(): void {}

function tooLarge(maxBytes: number): UrlRefused {
  return new UrlRefused('too_large', `The response is larger than ${maxBytes} bytes.`);
}
