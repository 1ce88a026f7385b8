import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import { EaselProcess, MODE, type ApiResponse } from '../helpers/server.js';
import { iTXt, tEXt, withChunks, zTXt } from '../helpers/png-chunks.js';

/**
 * Issue 20, item 4, over HTTP: an upload whose refused caption hides where the old check did not
 * look — after the image data, behind 72 KB of harmless text, compressed — is refused, and so is
 * one carrying more text than the scan budget.
 */
async function upload(base: string, key: string, bytes: Buffer): Promise<ApiResponse> {
  const form = new FormData();
  form.append('image', new Blob([new Uint8Array(bytes)], { type: 'image/png' }), 'image.png');
  const res = await fetch(`${base}/v1/upload`, { method: 'POST', headers: { authorization: `Bearer ${key}` }, body: form });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : text, text };
}

describe(`moderation of an image's embedded text (${MODE})`, () => {
  let srv: EaselProcess;
  let key: string;
  let png: Buffer;

  before(async () => {
    srv = await EaselProcess.start();
    key = await srv.createKey('image-text', '1');
    png = await sharp({ create: { width: 64, height: 48, channels: 3, background: '#4a7' } }).png().toBuffer();
  });
  after(() => srv?.stop());

  it('refuses a PNG whose refused text sits after a 72 KB filler chunk, after IDAT, or compressed (451 content_rejected)', async () => {
    const filler = tEXt('Comment', 'quiet harbour at noon '.repeat(3300)); // 72 KB
    const refused = 'terrorist propaganda recruitment poster';
    for (const [name, img] of [
      ['after a 72 KB filler', withChunks(png, [filler, tEXt('Description', refused)])],
      ['after the image data', withChunks(png, [], [tEXt('Description', refused)])],
      ['zTXt after the filler', withChunks(png, [filler, zTXt('Description', refused)])],
      ['compressed iTXt after IDAT', withChunks(png, [], [filler, iTXt('Description', refused, true)])],
    ] as const) {
      const r = await upload(srv.baseUrl, key, img);
      assert.equal(r.status, 451, `${name}: ${r.text}`);
      assert.equal(r.body.error, 'content_rejected', name);
      assert.equal(r.body.details.category, 'terrorism', name);
      assert.equal(r.body.request_id, r.headers.get('x-request-id'));
    }
    // The same layout with harmless text is accepted: the filler itself is not what is refused.
    const fine = await upload(srv.baseUrl, key, withChunks(png, [filler, tEXt('Description', 'a green rectangle')], [zTXt('Comment', 'made by hand')]));
    assert.equal(fine.status, 200, fine.text);
  });

  it('refuses an image carrying more embedded text than the scan budget (category embedded_text_unscanned)', async () => {
    const overBudget = withChunks(png, [], [zTXt('Comment', 'calm '.repeat(300_000))]); // 1.5 MB of text, ~5 KB compressed
    const r = await upload(srv.baseUrl, key, overBudget);
    assert.equal(r.status, 451, r.text);
    assert.equal(r.body.error, 'content_rejected');
    assert.equal(r.body.details.category, 'embedded_text_unscanned');
    assert.equal(r.body.details.legal, false, 'a policy refusal: the text was not judged, it could not all be read');
  });
});
