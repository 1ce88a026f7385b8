import crypto from 'node:crypto';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const BODY_LENGTH = 43; // 43 base62 characters ≈ 256 bits, above the 190-bit floor.
export const KEY_PREFIX = 'esl_';
export const KEY_RE = /^esl_[A-Za-z0-9]{43}$/;

/** Uniform base62 by rejection sampling: a plain `byte % 62` would bias the first characters. */
export function generateApiKey(): string {
  let out = '';
  while (out.length < BODY_LENGTH) {
    for (const b of crypto.randomBytes(64)) {
      if (b < 248 && out.length < BODY_LENGTH) out += ALPHABET[b % 62];
    }
  }
  return KEY_PREFIX + out;
}

/** Keys carry 256 bits of entropy, so a fast hash is enough: there is nothing to brute-force. */
export function hashApiKey(key: string): string {
  return crypto.createHash('sha256').update(key).digest('hex');
}

export function keysMatch(storedHashHex: string, presentedKey: string): boolean {
  return hashesMatch(storedHashHex, hashApiKey(presentedKey));
}

/** The same check with the presented key's hash already computed (authentication looks the key up by it). */
export function hashesMatch(storedHashHex: string, presentedHashHex: string): boolean {
  const a = Buffer.from(storedHashHex, 'hex');
  const b = Buffer.from(presentedHashHex, 'hex');
  return a.length === b.length && crypto.timingSafeEqual(a, b);
}
