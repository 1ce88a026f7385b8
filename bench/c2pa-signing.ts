/**
 * What C2PA signing adds to storing an image: median wall time of encoding the three formats
 * (XMP only) against signing them afterwards, for a created image and for an edit whose input
 * (itself signed) becomes an ingredient. Loopback-free, in-process; run with
 *   node --import tsx bench/c2pa-signing.ts
 */
import { derToPem, generateCredentials } from '../src/imaging/c2pa/certs.js';
import { C2paSigner } from '../src/imaging/c2pa/sign.js';
import { c2paWasm } from '../src/imaging/c2pa/wasm.js';
import { encodeAll } from '../src/imaging/encode.js';
import { setC2paSigner, signEncoded } from '../src/imaging/signing.js';
import { renderSketch } from '../src/providers/sketch/render.js';

const RUNS = Number(process.env.RUNS ?? 7);

async function median(fn: () => Promise<unknown>): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t = performance.now();
    await fn();
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
}

const t0 = performance.now();
c2paWasm();
console.log(`wasm load + compile: ${(performance.now() - t0).toFixed(0)} ms (once per process, at start)`);
const g = generateCredentials();
setC2paSigner(new C2paSigner({ chain: [g.leafDer, g.caDer], key: g.leafKey, trustAnchorPem: derToPem(g.caDer), source: 'generated' }));
{
  // The first signatures run in wasm's baseline tier; V8 optimises the hot code after that.
  const warm = await renderSketch({ prompt: 'warm-up', seed: 1, width: 256, height: 256 });
  const info = { generator: 'Easel', model: 'm', action: 'created' as const, createdAt: new Date() };
  const enc = await encodeAll(warm, info);
  const t = performance.now();
  await signEncoded(enc, info);
  console.log(`first 3 signatures in a process (256x256): ${(performance.now() - t).toFixed(0)} ms`);
  for (let i = 0; i < 5; i++) await signEncoded(enc, info);
}

const photoLike = (side: number) =>
  // Gaussian noise compresses like a photograph does (badly): the PNG is megabytes, as a vendor's would be.
  // sharp's types require `background`; with `noise` given sharp ignores it.
  import('sharp').then(({ default: sharp }) =>
    sharp({ create: { width: side, height: side, channels: 3, background: '#808080', noise: { type: 'gaussian', mean: 128, sigma: 40 } } }).png().toBuffer(),
  );

for (const [label, side] of [['sketch', 1024], ['sketch', 2048], ['photo-like', 1024]] as const) {
  const raw = label === 'sketch' ? await renderSketch({ prompt: 'a lighthouse on a cliff at dusk', seed: 1, width: side, height: side }) : await photoLike(side);
  const info = { generator: 'Easel', model: 'easel-sketch', action: 'created' as const, createdAt: new Date() };
  const encoded = await encodeAll(raw, info);
  const sizes = Object.values(encoded).map((e) => `${e.format} ${(e.bytes.length / 1024).toFixed(0)} KB`).join(', ');
  const enc = await median(() => encodeAll(raw, info));
  const sign = await median(() => signEncoded(encoded, info));
  const parent = (await signEncoded(await encodeAll(raw, info, ['png']), info)).png.bytes;
  const edited = { ...info, action: 'edited' as const };
  const signEdit = await median(() => signEncoded(encoded, edited, [{ bytes: parent, mime: 'image/png', title: 'input' }]));
  console.log(
    `${label} ${side}x${side} (${sizes}): encode 3 formats ${enc.toFixed(0)} ms; + C2PA sign 3 formats ${sign.toFixed(0)} ms (+${((100 * sign) / enc).toFixed(0)}%); ` +
      `edit with a signed ${(parent.length / 1024).toFixed(0)} KB parent ingredient ${signEdit.toFixed(0)} ms`,
  );
}
