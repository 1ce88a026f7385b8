/**
 * A minimal deterministic CBOR encoder (RFC 8949) for the COSE structures we write: unsigned and
 * negative integers, byte strings, text strings, arrays, maps (entries in the given order),
 * null and tags. Nothing else is needed to build a COSE_Sign1.
 */
export type Cbor = number | string | Buffer | null | Cbor[] | CborMap | CborTag;

export class CborMap {
  constructor(readonly entries: [Cbor, Cbor][]) {}
}

export class CborTag {
  constructor(
    readonly tag: number,
    readonly value: Cbor,
  ) {}
}

function head(major: number, n: number): Buffer {
  if (n < 24) return Buffer.from([(major << 5) | n]);
  if (n < 0x100) return Buffer.from([(major << 5) | 24, n]);
  if (n < 0x10000) {
    const b = Buffer.alloc(3);
    b[0] = (major << 5) | 25;
    b.writeUInt16BE(n, 1);
    return b;
  }
  if (n < 0x100000000) {
    const b = Buffer.alloc(5);
    b[0] = (major << 5) | 26;
    b.writeUInt32BE(n, 1);
    return b;
  }
  throw new RangeError('CBOR value too large for this encoder');
}

export function encodeCbor(v: Cbor): Buffer {
  if (v === null) return Buffer.from([0xf6]);
  if (typeof v === 'number') {
    if (!Number.isSafeInteger(v)) throw new RangeError('only integers are supported');
    return v >= 0 ? head(0, v) : head(1, -1 - v);
  }
  if (typeof v === 'string') {
    const b = Buffer.from(v, 'utf8');
    return Buffer.concat([head(3, b.length), b]);
  }
  if (Buffer.isBuffer(v)) return Buffer.concat([head(2, v.length), v]);
  if (Array.isArray(v)) return Buffer.concat([head(4, v.length), ...v.map(encodeCbor)]);
  if (v instanceof CborMap) return Buffer.concat([head(5, v.entries.length), ...v.entries.flatMap(([k, x]) => [encodeCbor(k), encodeCbor(x)])]);
  if (v instanceof CborTag) return Buffer.concat([head(6, v.tag), encodeCbor(v.value)]);
  throw new TypeError('unsupported CBOR value');
}
