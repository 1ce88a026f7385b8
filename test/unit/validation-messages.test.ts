import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { TSchema } from 'typebox';
import { describeValidation, validatorCompiler } from '../../src/api/validation.js';
import { GenerateImageBody } from '../../src/contract/generation.js';
import { StoryBody } from '../../src/contract/story.js';
import { ResizeBody } from '../../src/contract/process.js';
import { AccountWebhookBody } from '../../src/contract/webhooks.js';

type Check = ((data: unknown) => boolean) & { errors?: unknown[] | null };
const compile = (schema: TSchema) => validatorCompiler({ schema, httpPart: 'body', method: 'POST', url: '/t' }) as Check;

/** What a route answers for `body`: the status and details.fields, as the error handler builds them. */
function refusal(schema: TSchema, body: unknown) {
  const check = compile(schema);
  assert.equal(check(body), false, 'the body is refused');
  return describeValidation(check.errors as never, 'body');
}

describe('validation messages: one per field', () => {
  it('an unknown aspect ratio names the allowed values once, with no "must be null" beside it', () => {
    const r = refusal(GenerateImageBody, { prompt: 'x', aspect_ratio: '16:10' });
    assert.equal(r.status, 400);
    assert.deepEqual(r.fields, [{ path: 'aspect_ratio', message: 'must be one of: 1:1, 2:3, 3:2, 3:4, 4:3, 4:5, 5:4, 9:16, 16:9, 21:9' }]);
  });

  it('a union of types reads as one sentence; a limit stays a limit (422) when the field is nullable', () => {
    assert.deepEqual(refusal(GenerateImageBody, { prompt: 'x', max_cost_eur: true }).fields, [{ path: 'max_cost_eur', message: 'must be string or number' }]);
    const long = refusal(GenerateImageBody, { prompt: 'x', model: 'm'.repeat(201) });
    assert.equal(long.status, 422);
    assert.deepEqual(long.fields.map((f) => f.path), ['model']);
    const wide = refusal(ResizeBody, { input_image_url: 'https://example.com/a.png', width: 99_999 });
    assert.equal(wide.status, 422);
    assert.deepEqual(wide.fields, [{ path: 'width', message: 'must be <= 16384' }]);
    assert.deepEqual(refusal(ResizeBody, { input_image_url: 'https://example.com/a.png', width: 'wide' }).fields, [{ path: 'width', message: 'must be integer' }]);
  });

  it('a scene character that is neither a name nor {name, state} is explained by the object branch', () => {
    const r = refusal(StoryBody, { characters: [{ name: 'A', appearance: 'tall' }], scenes: [{ prompt: 'p', characters: [{ name: 'A', stat: 'w' }] }] });
    assert.deepEqual(r.fields.map((f) => f.path).sort(), ['scenes[0].characters[0].stat', 'scenes[0].characters[0].state']);
  });
});

describe('null means absent', () => {
  it('a storyboard with reference_url null everywhere (and null options) is accepted, and the nulls are gone', () => {
    const body: any = {
      model: null,
      style: null,
      aspect_ratio: null,
      characters: [{ name: 'Aria', appearance: 'tall', reference_url: null, states: { winter: { appearance: 'a coat', reference_url: null } } }],
      locations: [{ name: 'Harbour', description: 'boats', reference_url: null }],
      scenes: [{ prompt: 'Aria at the harbour', characters: [{ name: 'Aria', state: 'winter' }], location: null, aspect_ratio: null, image_size: null }],
    };
    assert.equal(compile(StoryBody)(body), true);
    assert.deepEqual(body, {
      characters: [{ name: 'Aria', appearance: 'tall', states: { winter: { appearance: 'a coat' } } }],
      locations: [{ name: 'Harbour', description: 'boats' }],
      scenes: [{ prompt: 'Aria at the harbour', characters: [{ name: 'Aria', state: 'winter' }] }],
    });
  });

  it('a required field keeps its null (PUT /v1/account/webhook {"url": null} turns the webhook off)', () => {
    const body = { url: null, events: null };
    assert.equal(compile(AccountWebhookBody)(body), true);
    assert.deepEqual(body, { url: null });
  });

  it('null is refused where the schema does not allow it', () => {
    assert.deepEqual(refusal(GenerateImageBody, { prompt: null }).fields, [{ path: 'prompt', message: 'must be string' }]);
    assert.deepEqual(refusal(GenerateImageBody, { prompt: 'x', reference_images: null }).fields, [{ path: 'reference_images', message: 'must be array' }]);
  });
});
