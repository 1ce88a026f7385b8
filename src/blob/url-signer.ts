import crypto from 'node:crypto';

/**
 * HMAC-SHA256 over "key\nexpires" with a server secret. The signature covers the expiry,
 * so neither the path nor the lifetime can be altered without the secret.
 */
export class UrlSigner {
  constructor(private readonly secret: Buffer) {}

  sign(key: string, expiresAtMs: number): string {
    const exp = Math.floor(expiresAtMs / 1000);
    return crypto.createHmac('sha256', this.secret).update(`${key}\n${exp}`).digest('base64url');
  }

  /** 'ok', 'expired' or 'invalid'; the expiry is only trusted after the signature checks out. */
  verify(key: string, expS: string | undefined, sig: string | undefined, nowMs = Date.now()): 'ok' | 'expired' | 'invalid' {
    if (!expS || !sig || !/^\d{1,12}$/.test(expS)) return 'invalid';
    const expected = Buffer.from(this.sign(key, Number(expS) * 1000));
    const given = Buffer.from(sig);
    if (expected.length !== given.length || !crypto.timingSafeEqual(expected, given)) return 'invalid';
    return Number(expS) * 1000 < nowMs ? 'expired' : 'ok';
  }
}
