import crypto from 'node:crypto';
import { BoundedMemo } from '../util/bounded-memo.js';

/**
 * HMAC-SHA256 over "key\nexpires" with a server secret. The signature covers the expiry,
 * so neither the path nor the lifetime can be altered without the secret.
 */
export class UrlSigner {
  /** A client polling a job is handed the same URLs many times a second: each is signed once. */
  private readonly signed = new BoundedMemo<string, string>();

  constructor(private readonly secret: Buffer) {}

  sign(key: string, expiresAtMs: number): string {
    const exp = Math.floor(expiresAtMs / 1000);
    return this.signed.get(`${key}\n${exp}`, (message) => this.mac(message));
  }

  private mac(message: string): string {
    return crypto.createHmac('sha256', this.secret).update(message).digest('base64url');
  }

  /** 'ok', 'expired' or 'invalid'; the expiry is only trusted after the signature checks out. */
  verify(key: string, expS: string | undefined, sig: string | undefined, nowMs = Date.now()): 'ok' | 'expired' | 'invalid' {
    if (!expS || !sig || !/^\d{1,12}$/.test(expS)) return 'invalid';
    // Not memoised: the key and expiry come from whoever sent the URL.
    const expected = Buffer.from(this.mac(`${key}\n${Number(expS)}`));
    const given = Buffer.from(sig);
    if (expected.length !== given.length || !crypto.timingSafeEqual(expected, given)) return 'invalid';
    return Number(expS) * 1000 < nowMs ? 'expired' : 'ok';
  }
}
