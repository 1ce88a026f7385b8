import fs from 'node:fs';
import path from 'node:path';
import { c2paWasm } from '../../src/imaging/c2pa/wasm.js';

export interface C2paReport {
  /** `Trusted` (chain ends at the given anchor), `Valid` (intact, signer not trusted), `Invalid`. */
  state: string;
  failures: string[];
  manifest: any;
}

const MIME: Record<string, string> = { png: 'image/png', jpeg: 'image/jpeg', jpg: 'image/jpeg', webp: 'image/webp' };

/** Reads and validates the C2PA manifest store of an image, the way a verifier would, trusting `trustAnchorPem` if given. */
export async function readC2pa(bytes: Buffer, format: string, trustAnchorPem?: string): Promise<C2paReport> {
  const { WasmReader } = c2paWasm();
  const context = trustAnchorPem ? JSON.stringify({ trust: { trust_anchors: trustAnchorPem }, verify: { verify_trust: true } }) : undefined;
  const reader = await WasmReader.fromBytes(MIME[format] ?? format, new Uint8Array(bytes), context);
  try {
    const store = JSON.parse(reader.json()) as { validation_state: string; validation_results?: { activeManifest?: { failure?: { code: string }[] } } };
    return {
      state: store.validation_state,
      failures: (store.validation_results?.activeManifest?.failure ?? []).map((f) => f.code),
      manifest: reader.activeManifest(),
    };
  } finally {
    reader.free();
  }
}

/** The server's self-generated C2PA trust anchor. */
export function serverTrustAnchor(dataDir: string): string {
  return fs.readFileSync(path.join(dataDir, 'c2pa', 'ca.pem'), 'utf8');
}

/**
 * A copy with one byte of the compressed pixel data flipped: in the middle of the largest IDAT
 * (PNG), of the entropy-coded scan (JPEG) or of the VP8/VP8L chunk (WebP). The containers are
 * walked properly so the flip never lands in the manifest itself (whose padding C2PA rightly
 * does not hash).
 */
export function tamperPixels(bytes: Buffer, format: string): Buffer {
  let at = -1;
  if (format === 'png') {
    let best = 0;
    for (let p = 8; p + 8 <= bytes.length; ) {
      const len = bytes.readUInt32BE(p);
      if (bytes.toString('latin1', p + 4, p + 8) === 'IDAT' && len > best) (best = len), (at = p + 8 + Math.floor(len / 2));
      p += 12 + len;
    }
  } else if (format === 'webp') {
    for (let p = 12; p + 8 <= bytes.length; ) {
      const id = bytes.toString('latin1', p, p + 4);
      const len = bytes.readUInt32LE(p + 4);
      if (id === 'VP8 ' || id === 'VP8L') at = p + 8 + Math.floor(len / 2);
      p += 8 + len + (len % 2);
    }
  } else {
    for (let p = 2; p + 4 <= bytes.length; ) {
      if (bytes[p] !== 0xff) break;
      const marker = bytes[p + 1]!;
      const len = bytes.readUInt16BE(p + 2);
      if (marker === 0xda) {
        at = p + 2 + len + Math.floor((bytes.length - (p + 2 + len)) / 2);
        break;
      }
      p += 2 + len;
    }
  }
  if (at < 0) throw new Error(`no pixel data found in ${format}`);
  const out = Buffer.from(bytes);
  out[at] = out[at]! ^ 0x55;
  return out;
}

/** The `c2pa.actions.v2` actions of a manifest. */
export function actionsOf(manifest: any): any[] {
  const a = (manifest.assertions as any[]).find((x) => x.label === 'c2pa.actions.v2' || x.label === 'c2pa.actions');
  return a ? (a.data.actions as any[]) : [];
}
