import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { imageText } from '../../src/moderation/image-text.js';
import { IMAGE_TEXT_SCAN_BUDGET } from '../../src/moderation/text-sink.js';
import { RuleModerator, UNSCANNED_CATEGORY } from '../../src/moderation/moderator.js';
import { chunk, iTXt, tEXt, withChunks, zTXt } from '../helpers/png-chunks.js';

/**
 * The embedded text of real image bytes (issue 20, item 4): PNGs built chunk by chunk, a JPEG
 * with its segments, a WebP with its chunks; each is decoded by sharp first, to prove it is an
 * image a client would accept, then read by the moderator.
 */
const m = new RuleModerator(null);
const REFUSED = 'a gory massacre';

async function basePng(): Promise<Buffer> {
  return sharp({ create: { width: 16, height: 16, channels: 3, background: '#3a6' } }).png().toBuffer();
}

async function assertDecodes(img: Buffer): Promise<void> {
  const meta = await sharp(img).metadata();
  assert.ok(meta.width && meta.height, 'sharp decodes it');
  await sharp(img, { failOn: 'error' }).stats();
}

/** The same bytes as a file: spooled uploads are moderated from their file (PNG walked in place). */
const TMP = fs.mkdtempSync(path.join(os.tmpdir(), 'easel-text-'));
after(() => fs.rmSync(TMP, { recursive: true, force: true }));
let files = 0;
function asFile(img: Buffer): string {
  const file = path.join(TMP, `image-${files++}`);
  fs.writeFileSync(file, img);
  return file;
}

describe('embedded text of an image', () => {
  it('finds a refused PNG text chunk wherever it sits: after the image data, behind 72 KB of filler text, compressed (zTXt, iTXt)', async () => {
    const png = await basePng();
    const filler = tEXt('Comment', 'calm lake at dawn '.repeat(4000)); // 72 KB of harmless text
    const cases: [string, Buffer][] = [
      ['tEXt before IDAT', withChunks(png, [tEXt('Description', REFUSED)])],
      ['tEXt after IDAT', withChunks(png, [], [tEXt('Description', REFUSED)])],
      ['after a 72 KB filler text chunk', withChunks(png, [filler, tEXt('Description', REFUSED)])],
      ['after a 72 KB private filler chunk', withChunks(png, [chunk('fiLl', Buffer.alloc(72_000, 0x41)), tEXt('Description', REFUSED)])],
      ['zTXt', withChunks(png, [filler, zTXt('Comment', REFUSED)])],
      ['compressed iTXt', withChunks(png, [], [filler, iTXt('Description', REFUSED, true)])],
      ['plain iTXt', withChunks(png, [iTXt('Title', REFUSED, false)])],
    ];
    // The bug's shape: sharp reports no text after IDAT, and the old reader cut the rest at 64 KiB.
    const viaSharp = (await sharp(cases[1]![1]).metadata()).comments ?? [];
    assert.equal(viaSharp.length, 0, 'libvips does not report text after IDAT (so Easel reads the chunks itself)');
    for (const [name, img] of cases) {
      await assertDecodes(img);
      for (const input of [img, asFile(img)]) {
        const found = await imageText(input);
        assert.equal(found.unscannable, null, name);
        assert.ok(found.text.includes(REFUSED), `${name}: the text is found`);
        const v = await m.checkImage(input, 'normal');
        assert.equal(v.allowed, false, name);
        assert.equal(v.category, 'graphic_violence', name);
      }
    }
    // The same files with harmless text pass.
    const fine = withChunks(png, [filler, zTXt('Comment', 'four green squares')], [iTXt('Description', 'a calm lake', true)]);
    assert.deepEqual(await m.checkImage(fine, 'normal'), { allowed: true });
  });

  it('refuses an image whose text is past the scan budget, or whose compressed text does not inflate', async () => {
    const png = await basePng();
    const big = 'calm lake '.repeat(Math.ceil(IMAGE_TEXT_SCAN_BUDGET / 10) + 10);
    // A compressed chunk that inflates past the budget (a zip bomb of text) is stopped at the budget.
    const cases: [string, Buffer][] = [
      ['plain text over the budget', withChunks(png, [tEXt('Comment', big)])],
      ['compressed text over the budget', withChunks(png, [], [zTXt('Comment', big)])],
      ['zTXt that is not zlib', withChunks(png, [chunk('zTXt', Buffer.concat([Buffer.from('Comment\0\0'), Buffer.from('not zlib at all')]))])],
    ];
    for (const [name, img] of cases) {
      await assertDecodes(img);
      for (const input of [img, asFile(img)]) {
        const v = await m.checkImage(input, 'liberal');
        assert.deepEqual(v, { allowed: false, category: UNSCANNED_CATEGORY, legal: false }, name);
      }
    }
    // Just under the budget is read whole, and the refused words at its very end are found.
    const under = withChunks(png, [tEXt('Comment', 'x'.repeat(IMAGE_TEXT_SCAN_BUDGET - 100)), tEXt('Title', REFUSED)]);
    assert.equal((await m.checkImage(under, 'normal')).category, 'graphic_violence');
    assert.equal((await m.checkImage(asFile(under), 'normal')).category, 'graphic_violence');
  });

  it('reads JPEG comments, XMP and EXIF strings in every segment, and WebP XMP and EXIF', async () => {
    const jpeg = await sharp({ create: { width: 16, height: 16, channels: 3, background: '#a63' } }).jpeg().toBuffer();
    // A 60 KB application segment of filler, then a comment segment with the text.
    const seg = (marker: number, data: Buffer) => Buffer.concat([Buffer.from([0xff, marker, (data.length + 2) >> 8, (data.length + 2) & 0xff]), data]);
    const withCom = Buffer.concat([jpeg.subarray(0, 2), seg(0xe9, Buffer.alloc(60_000, 0x20)), seg(0xfe, Buffer.from(`tags: ${REFUSED}`)), jpeg.subarray(2)]);
    await assertDecodes(withCom);
    assert.equal((await m.checkImage(withCom, 'normal')).category, 'graphic_violence');

    const exif = await sharp(jpeg).withExif({ IFD0: { ImageDescription: REFUSED } }).jpeg().toBuffer();
    assert.equal((await m.checkImage(exif, 'normal')).category, 'graphic_violence', 'EXIF ImageDescription');
    const webp = await sharp(jpeg).withExif({ IFD0: { Artist: REFUSED } }).webp().toBuffer();
    await assertDecodes(webp);
    assert.equal((await m.checkImage(webp, 'normal')).category, 'graphic_violence', 'WebP EXIF');
    const clean = await sharp(jpeg).webp().toBuffer();
    assert.deepEqual(await m.checkImage(clean, 'normal'), { allowed: true });
  });
});
