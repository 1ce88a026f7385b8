import crypto from 'node:crypto';

/** How a sealed value starts: the scheme and its version, so a later scheme can live beside it. */
export const SEALED_PREFIX = 'enc:v1:';
const NONCE = 12;
const TAG = 16;

/**
 * Webhook signing secrets at rest (issue 20): AES-256-GCM with a key from secrets.json or
 * EASEL_SECRETS_KEY, stored as `enc:v1:<base64 of nonce | ciphertext | tag>`. The account id is
 * the associated data, so a sealed secret copied onto another account's row does not open there.
 * A value without the prefix is a plaintext secret from before, read as it is until the start-up
 * pass seals it.
 */
export class SecretBox {
  constructor(private readonly key: Buffer) {
    if (key.length !== 32) throw new Error('the webhook encryption key must be 32 bytes');
  }

  static isSealed(stored: string): boolean {
    return stored.startsWith(SEALED_PREFIX);
  }

  seal(plain: string, accountId: string): string {
    const nonce = crypto.randomBytes(NONCE);
    const c = crypto.createCipheriv('aes-256-gcm', this.key, nonce);
    c.setAAD(Buffer.from(accountId, 'utf8'));
    const ct = Buffer.concat([c.update(plain, 'utf8'), c.final()]);
    return SEALED_PREFIX + Buffer.concat([nonce, ct, c.getAuthTag()]).toString('base64');
  }

  /** The plaintext; throws when the value was sealed with another key (or for another account). */
  open(stored: string, accountId: string): string {
    if (!SecretBox.isSealed(stored)) return stored;
    const raw = Buffer.from(stored.slice(SEALED_PREFIX.length), 'base64');
    if (raw.length < NONCE + TAG) throw new Error('a sealed webhook secret is truncated');
    const d = crypto.createDecipheriv('aes-256-gcm', this.key, raw.subarray(0, NONCE));
    d.setAAD(Buffer.from(accountId, 'utf8'));
    d.setAuthTag(raw.subarray(raw.length - TAG));
    return Buffer.concat([d.update(raw.subarray(NONCE, raw.length - TAG)), d.final()]).toString('utf8');
  }
}
