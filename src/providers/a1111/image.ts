import type { ProviderOutput } from '../port.js';
import { malformed } from '../vendor/failure.js';
import { validateVendorImage } from '../vendor/image-bytes.js';

/** A base64 image as A1111 returns it (plain, or a `data:image/…;base64,` URL) → checked bytes. */
export async function checkBase64Image(vendor: string, value: unknown): Promise<ProviderOutput> {
  if (typeof value !== 'string') throw malformed(vendor, 'an image that is not a base64 string');
  const b64 = value.replace(/^data:image\/[a-z0-9.+-]+;base64,/i, '').replace(/\s+/g, '');
  if (b64 === '' || b64.length % 4 === 1 || !/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) throw malformed(vendor, 'an image that is not base64');
  return validateVendorImage(vendor, Buffer.from(b64, 'base64'));
}
