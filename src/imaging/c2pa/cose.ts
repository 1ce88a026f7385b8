import crypto, { type KeyObject } from 'node:crypto';
import { CborMap, CborTag, encodeCbor } from './cbor.js';

/** COSE header labels and values (RFC 9052 / 9360). */
const HDR_ALG = 1;
const HDR_X5CHAIN = 33;
const ALG_ES256 = -7;
const TAG_COSE_SIGN1 = 18;

/**
 * Signs a C2PA claim as a complete COSE_Sign1_Tagged structure, padded to exactly `size` bytes.
 *
 * c2pa-wasm's signer runs in "direct COSE handling" mode: the callback receives the claim bytes
 * and must return the whole signature box content, which must fill the space reserved for it.
 * Shape: protected {alg: ES256, x5chain: [leaf, …issuers]}, unprotected {"pad": zeros},
 * detached payload (nil), signature = ES256 over Sig_structure
 * ["Signature1", protected, h'', claim] in IEEE P1363 form (r‖s), as COSE requires.
 */
export function coseSign1(claim: Uint8Array, key: KeyObject, chain: Buffer[], size: number): Buffer {
  const protectedBytes = encodeCbor(new CborMap([[HDR_ALG, ALG_ES256], [HDR_X5CHAIN, chain.length === 1 ? chain[0]! : chain]]));
  const toBeSigned = encodeCbor(['Signature1', protectedBytes, Buffer.alloc(0), Buffer.from(claim)]);
  const signature = crypto.sign('sha256', toBeSigned, { key, dsaEncoding: 'ieee-p1363' });
  const build = (pad: number, pad2: number | null) => {
    const unprotected: [string, Buffer][] = [['pad', Buffer.alloc(pad)]];
    if (pad2 !== null) unprotected.push(['pad2', Buffer.alloc(pad2)]);
    return encodeCbor(new CborTag(TAG_COSE_SIGN1, [protectedBytes, new CborMap(unprotected), null, signature]));
  };
  const bare = build(0, null).length;
  if (bare > size) throw new Error(`C2PA signature (${bare} bytes) does not fit the reserved ${size} bytes`);
  // A byte string's length prefix grows by a byte or two as it crosses 24 and 256 bytes, so some
  // totals cannot be hit with one pad; a second, short pad (as c2pa-rs itself does) fills the gap.
  for (const pad2 of [null, 0, 1, 2, 3]) {
    for (let pad = size - bare; pad >= 0; pad--) {
      const out = build(pad, pad2);
      if (out.length === size) return out;
      if (out.length < size) break;
    }
  }
  throw new Error(`cannot pad the C2PA signature to exactly ${size} bytes`);
}
