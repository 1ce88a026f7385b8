import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import { configureImageWork, imageWorkLoad } from '../../src/imaging/image-work.js';
import { SketchProvider } from '../../src/providers/sketch-provider.js';
import { storeImage } from '../../src/pipelines/store-image.js';
import type { BlobStore } from '../../src/blob/port.js';

/**
 * The per-process bound on image work (src/imaging/image-work.ts): a burst of finished provider
 * calls — the offline renderer drawing, then each result decoded, encoded three ways and signed —
 * never holds more than EASEL_IMAGE_WORK_CONCURRENCY images in flight, and every call still completes.
 */
describe('image work bounded per process', () => {
  it('a burst of 8 renders, then 8 stores, runs at most 2 at a time in each lane, the rest waiting, all completing with real images', async () => {
    configureImageWork(2);
    const peak = { render: 0, finish: 0 };
    const waited = { render: 0, finish: 0 };
    const sample = setInterval(() => {
      for (const lane of ['render', 'finish'] as const) {
        const l = imageWorkLoad(lane);
        peak[lane] = Math.max(peak[lane], l.inUse);
        waited[lane] = Math.max(waited[lane], l.waiting);
      }
    }, 1);
    try {
      const provider = new SketchProvider('easel-sketch', { latencyMs: 0, multiturn: false, callLog: null, failures: { remaining: 0 } });
      const signal = new AbortController().signal;
      const outs = await Promise.all(
        Array.from({ length: 8 }, (_, i) => provider.generate({ prompt: `a lighthouse ${i}`, width: 512, height: 512, seed: i, references: [], signal })),
      );
      const put = new Map<string, Buffer>();
      const blob = { put: async (key: string, bytes: Buffer) => void put.set(key, bytes) } as unknown as BlobStore;
      const stored = await Promise.all(outs.map((o, i) => storeImage(blob, `t/${i}`, o.bytes, { model: 'easel-sketch', action: 'created' })));
      // Two in flight at the most in each lane, and each lane was used (its peak reached its size).
      assert.deepEqual(peak, { render: 2, finish: 2 });
      assert.ok(waited.render >= 1 && waited.finish >= 1, `the others waited for a slot: ${JSON.stringify(waited)}`);
      assert.equal(imageWorkLoad('render').inUse + imageWorkLoad('finish').inUse, 0);
      assert.equal(stored.length, 8);
      for (const s of stored) {
        const png = put.get(s.formats.png.key)!;
        const meta = await sharp(png).metadata();
        assert.equal(meta.format, 'png');
        assert.equal(meta.width, 512);
      }
    } finally {
      clearInterval(sample);
      configureImageWork(4);
    }
  });
});
