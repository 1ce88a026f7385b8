import { createHash } from 'node:crypto';

/** Lowercase hex SHA-256: the content address of stored image bytes. */
export function sha256Hex(b: Buffer | Uint8Array): string {
  return createHash('sha256').update(b).digest('hex');
}
