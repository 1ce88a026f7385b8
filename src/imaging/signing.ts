import fs from 'node:fs';
import sharp from 'sharp';
import { sha256Hex } from './hash.js';
import type { EncodedImage, OutputFormat, ProvenanceInfo } from './encode.js';
import { C2paSigner, type C2paClaim } from './c2pa/sign.js';
import { loadCredentials } from './c2pa/certs.js';
import { c2paWasm } from './c2pa/wasm.js';

/** What the stored image was made from: edit and combine inputs become C2PA ingredients. */
export interface ProvenanceInput {
  bytes: Buffer;
  mime: string;
  title: string;
}

let signer: C2paSigner | null = null;
const WARM_UP_DELAY_MS = 3000;

/** Easel's version, named in every manifest's claim generator and software agent. */
export const VERSION = ((): string => {
  try {
    return (JSON.parse(fs.readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string }).version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
})();

/**
 * Installs the process-wide C2PA signer (once, at start-up, from the data directory or
 * EASEL_C2PA_CERT / EASEL_C2PA_KEY). Loading the wasm here, not at the first image, surfaces a
 * broken install at start and keeps its ~60 ms compile out of a request.
 */
export function installC2paSigning(dataDir: string, env: { cert: string | null; key: string | null }): C2paSigner {
  c2paWasm();
  signer = new C2paSigner(loadCredentials(dataDir, env));
  // The first signatures of a process run in wasm's baseline tier (measured ~0.6–0.9 s for three);
  // spend that in the background rather than in the first client's request — a few seconds after
  // start, so it does not compete with the start itself (migrations, listen). A job that arrives
  // first simply pays it, as it would without the warm-up.
  const warm = signer;
  setTimeout(() => void warmUp(warm).catch(() => undefined), WARM_UP_DELAY_MS).unref();
  return signer;
}

async function warmUp(s: C2paSigner): Promise<void> {
  const png = await sharp({ create: { width: 16, height: 16, channels: 3, background: '#808080' } }).png().toBuffer();
  for (let i = 0; i < 3; i++) await s.sign(png, 'png', { generator: 'Easel', generatorVersion: VERSION, model: 'warm-up', action: 'created', createdAt: new Date() });
}

/** The installed signer, or null when none was installed (library use without a data directory). */
export function c2paSigner(): C2paSigner | null {
  return signer;
}

/** For tests: install a signer built elsewhere (or none). */
export function setC2paSigner(s: C2paSigner | null): void {
  signer = s;
}

/**
 * Embeds a signed C2PA manifest into every encoded format and re-hashes the result: the hash a
 * client is given is always that of the exact bytes it downloads. Without an installed signer
 * the images keep their XMP marking only.
 */
export async function signEncoded<F extends OutputFormat>(
  encoded: Record<F, EncodedImage>,
  provenance: ProvenanceInfo,
  inputs: ProvenanceInput[] = [],
): Promise<Record<F, EncodedImage>> {
  const s = signer;
  if (!s) return encoded;
  const claim: C2paClaim = {
    generator: provenance.generator,
    generatorVersion: VERSION,
    model: provenance.model,
    action: provenance.action,
    createdAt: provenance.createdAt,
    ingredients: inputs,
  };
  const out = {} as Record<F, EncodedImage>;
  for (const f of Object.keys(encoded) as F[]) {
    const e = encoded[f];
    const bytes = await s.sign(e.bytes, e.format, claim);
    out[f] = { ...e, bytes, sha256: sha256Hex(bytes) };
  }
  return out;
}
