import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import { Catalogue, type ModelEntry } from '../../src/providers/catalogue.js';
import { mapOpenAISize, resolveOpenAIModel, sizesFor } from '../../src/api/prepare/openai-images.js';
import { openAIErrorOf } from '../../src/api/openai-error.js';
import { completeDocument } from '../../src/api/openapi-document.js';
import { EaselError } from '../../src/errors.js';
import { applyEditMask, fitToSize } from '../../src/pipelines/fit-size.js';

const model = (id: string, extra: Partial<ModelEntry> = {}): ModelEntry => ({
  id,
  aliases: [],
  name: id,
  description: '',
  provider: {} as ModelEntry['provider'],
  operations: ['generate', 'edit'],
  supportsMultiturn: false,
  aspectRatios: ['1:1', '16:9', '3:2', '2:3'],
  imageSizes: ['1K', '2K'],
  outputFormats: ['png'],
  priceMicros: 20_000,
  maxCharacters: 0,
  maxCombineInputs: 0,
  fallbacks: [],
  ...extra,
});

describe('OpenAI-compatible mapping', () => {
  it('model: ids and aliases as anywhere; OpenAI names reach the default unless aliased; others are a 400 on param model', () => {
    const cheap = model('cheap', { priceMicros: 10_000 });
    const dear = model('dear', { aliases: ['dall-e-3'] });
    const cat = new Catalogue([cheap, dear], {});
    assert.equal(resolveOpenAIModel(cat, undefined, 'image').id, 'cheap');
    assert.equal(resolveOpenAIModel(cat, 'gpt-image-1', 'image').id, 'cheap');
    assert.equal(resolveOpenAIModel(cat, 'GPT-IMAGE-1', 'image').id, 'cheap');
    assert.equal(resolveOpenAIModel(cat, 'dall-e-3', 'image').id, 'dear', 'an alias in the catalogue wins');
    assert.equal(resolveOpenAIModel(cat, 'dear', 'image').id, 'dear');
    assert.throws(
      () => resolveOpenAIModel(cat, 'nope', 'image'),
      (e: unknown) => e instanceof EaselError && e.status === 400 && e.code === 'model_not_found' && e.details?.field === 'model',
    );
  });

  it('size: auto, OpenAI sizes and the model\u2019s own, each exact; anything else names the sizes', () => {
    const m = model('m');
    assert.deepEqual(mapOpenAISize(m, undefined, 'generate'), { aspect_ratio: '1:1', image_size: '1K', pixel_size: { width: 1024, height: 1024 }, label: '1024x1024' });
    assert.deepEqual(mapOpenAISize(m, 'auto', 'edit'), { aspect_ratio: null, image_size: '1K', label: 'auto' });
    assert.deepEqual(mapOpenAISize(m, '1536x1024', 'generate'), { aspect_ratio: '3:2', image_size: '2K', pixel_size: { width: 1536, height: 1024 }, label: '1536x1024' });
    assert.deepEqual(mapOpenAISize(m, '1024x576', 'generate'), { aspect_ratio: '16:9', image_size: '1K', pixel_size: { width: 1024, height: 576 }, label: '1024x576' });
    assert.ok(sizesFor(m).includes('2048x2048'));
    assert.ok(!sizesFor(m).includes('4096x4096'), 'a size the model does not offer');
    assert.throws(() => mapOpenAISize(m, '1000x1000', 'generate'), (e: unknown) => e instanceof EaselError && e.status === 400 && /1024x1024/.test(e.message));
    // A model whose largest named size is below the long side still answers OpenAI's sizes (fitted).
    assert.equal(mapOpenAISize(model('small', { imageSizes: ['1K'] }), '1792x1024', 'generate').image_size, '1K');
  });

  it('errors: OpenAI statuses and codes for Easel\u2019s', () => {
    const of = (status: number, code: string) => openAIErrorOf(new EaselError(status, code, 'x'));
    assert.deepEqual(of(401, 'auth_invalid'), { status: 401, type: 'invalid_request_error', code: 'invalid_api_key' });
    assert.deepEqual(of(403, 'content_rejected'), { status: 400, type: 'invalid_request_error', code: 'content_policy_violation' });
    assert.deepEqual(of(451, 'content_rejected'), { status: 400, type: 'invalid_request_error', code: 'content_policy_violation' });
    assert.deepEqual(of(402, 'credit_insufficient'), { status: 429, type: 'insufficient_quota', code: 'insufficient_quota' });
    assert.deepEqual(of(429, 'rate_limited'), { status: 429, type: 'requests', code: 'rate_limit_exceeded' });
    assert.deepEqual(of(422, 'validation_failed'), { status: 400, type: 'invalid_request_error', code: null });
    assert.deepEqual(of(422, 'model_not_capable'), { status: 400, type: 'invalid_request_error', code: 'model_not_capable' });
    assert.deepEqual(of(403, 'account_suspended'), { status: 403, type: 'invalid_request_error', code: 'account_suspended' });
    assert.deepEqual(of(503, 'service_unavailable'), { status: 503, type: 'server_error', code: 'service_unavailable' });
  });

  it('the document\u2019s completion gives an OpenAI-shaped operation OpenAI-shaped generic errors, Retry-After optional on its 429', () => {
    const ref = (name: string) => ({ content: { 'application/json': { schema: { $ref: `#/components/schemas/${name}` } } } });
    const doc = completeDocument({
      paths: {
        '/v1/images/generations': { post: { requestBody: { content: { 'application/json': { schema: { type: 'object' } } } }, responses: { '200': { description: 'ok' }, '400': ref('OpenAIError') } } },
        '/v1/jobs': { get: { responses: { '200': { description: 'ok' } } } },
      },
    });
    const openai = doc.paths['/v1/images/generations'].post.responses;
    for (const s of ['401', '403', '429', '413', '500', '503']) assert.equal(openai[s].content['application/json'].schema.$ref, '#/components/schemas/OpenAIError', s);
    assert.equal(openai['429'].headers['Retry-After'].required, false);
    const easel = doc.paths['/v1/jobs'].get.responses;
    assert.equal(easel['401'].content['application/json'].schema.$ref, '#/components/schemas/Error');
    assert.equal(easel['429'].headers['Retry-After'].required, true);
  });
});

describe('exact sizes and edit masks', () => {
  const solid = (w: number, h: number, c: { r: number; g: number; b: number }) => sharp({ create: { width: w, height: h, channels: 3, background: c } }).png().toBuffer();
  const pixel = async (bytes: Buffer, x: number, y: number) => {
    const { data, info } = await sharp(bytes).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    const i = (y * info.width + x) * info.channels;
    return [data[i], data[i + 1], data[i + 2]];
  };

  it('fitToSize leaves an exact output alone and covers-and-crops any other', async () => {
    const exact = { bytes: await solid(64, 32, { r: 1, g: 2, b: 3 }), mime: 'image/png' };
    assert.equal(await fitToSize(exact, { width: 64, height: 32 }), exact);
    const fitted = await fitToSize(exact, { width: 30, height: 30 });
    assert.deepEqual([(await sharp(fitted.bytes).metadata()).width, (await sharp(fitted.bytes).metadata()).height], [30, 30]);
  });

  it('applyEditMask keeps the input where the mask is opaque, the edit where it is transparent, at the edit\u2019s size', async () => {
    const input = await solid(40, 40, { r: 0, g: 0, b: 255 });
    const edited = { bytes: await solid(80, 80, { r: 200, g: 200, b: 0 }), mime: 'image/png' };
    const raw = Buffer.alloc(40 * 40 * 4);
    for (let y = 0; y < 40; y++) for (let x = 20; x < 40; x++) raw[(y * 40 + x) * 4 + 3] = 255;
    const mask = await sharp(raw, { raw: { width: 40, height: 40, channels: 4 } }).png().toBuffer();
    const out = await applyEditMask(edited, input, mask);
    assert.deepEqual([(await sharp(out.bytes).metadata()).width, (await sharp(out.bytes).metadata()).height], [80, 80]);
    assert.deepEqual(await pixel(out.bytes, 70, 40), [0, 0, 255]);
    assert.deepEqual(await pixel(out.bytes, 10, 40), [200, 200, 0]);
  });
});
